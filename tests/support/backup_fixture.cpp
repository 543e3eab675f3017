#include "tests/support/backup_fixture.h"

#include <algorithm>

#include "backup/pipeline/sha256_sink.h"
#include "tests/support/test_servers.h"

namespace dbkeeper::testing {
namespace {

std::string digest_of_rows(const QueryResult& result) {
  std::vector<std::string> rows;
  for (const auto& row : result.rows) {
    std::string line;
    for (const auto& value : row) line += (value ? "v" + std::to_string(value->size()) + ":" + *value : "NULL") + "|";
    rows.push_back(line);
  }
  std::sort(rows.begin(), rows.end());
  Sha256Sink hasher;
  for (const auto& row : rows) hasher.write(std::as_bytes(std::span(row.data(), row.size())));
  hasher.finish();
  return std::to_string(rows.size()) + " rows " + hasher.hex_digest();
}

std::vector<std::string> column(const QueryResult& result) {
  std::vector<std::string> values;
  for (const auto& row : result.rows) values.push_back(row[0].value_or("NULL"));
  return values;
}

}  // namespace

void create_mariadb_fixture(const std::string& database) {
  auto db = servers().mariadb.admin();
  auto q = MysqlConnection::quote_identifier(database);
  db.execute("DROP DATABASE IF EXISTS " + q);
  db.execute("CREATE DATABASE " + q + " CHARACTER SET utf8mb4");
  db.execute("USE " + q);
  db.execute(
      "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT NULL, avatar BLOB NULL, "
      "profile JSON NULL, balance DECIMAL(12,2) NULL) ENGINE=InnoDB");
  db.execute(
      "INSERT INTO customers VALUES "
      "(1, 'Zoë Ångström', '日本語のメモ 🐘', X'00FF10802A', '{\"tags\": [\"vip\", \"ü\"], \"n\": 1}', 12.50),"
      "(2, 'O''Brien', NULL, NULL, NULL, NULL),"
      "(3, 'back\\\\slash', 'line\\nbreak\\ttab', X'', '{}', -1.00),"
      "(4, 'semi;colon (paren)', '''quoted''', X'0D0A1A', '[1,2,3]', 0)");
  db.execute("CREATE TABLE `order` (id INT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, total DECIMAL(10,2))");
  db.execute("CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, message VARCHAR(200)) ENGINE=Aria");
  db.execute("CREATE TABLE legacy (k INT PRIMARY KEY, v VARCHAR(20)) ENGINE=MyISAM");
  db.execute("INSERT INTO legacy VALUES (1, 'one'), (2, NULL)");
  db.execute("CREATE TABLE empty_table (id INT PRIMARY KEY)");
  db.execute(
      "CREATE TRIGGER order_audit AFTER INSERT ON `order` FOR EACH ROW "
      "INSERT INTO audit (message) VALUES (CONCAT('order ', NEW.id))");
  db.execute("INSERT INTO `order` (customer_id, total) VALUES (1, 10.00), (1, 2.50), (2, 99.99), (4, 0.01)");
  db.execute(
      "CREATE VIEW big_spenders AS SELECT customer_id, SUM(total) AS spent FROM `order` GROUP BY customer_id "
      "HAVING SUM(total) > 5");
  db.execute(
      "CREATE FUNCTION order_total(c INT) RETURNS DECIMAL(12,2) READS SQL DATA "
      "RETURN (SELECT COALESCE(SUM(total), 0) FROM `order` WHERE customer_id = c)");
}

void create_postgres_fixture(const std::string& database) {
  auto admin = servers().postgres.admin();
  admin.execute("DROP DATABASE IF EXISTS " + PostgresConnection::quote_identifier(database) + " WITH (FORCE)");
  admin.execute("CREATE DATABASE " + PostgresConnection::quote_identifier(database) + " OWNER " + k_test_user);
  auto db = servers().postgres.admin(database);
  db.execute("SET ROLE " + std::string(k_test_user));
  db.execute(
      "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, note text, avatar bytea, profile jsonb, "
      "balance numeric(12,2))");
  db.execute(
      "INSERT INTO customers VALUES "
      "(1, 'Zoë Ångström', '日本語のメモ 🐘', '\\x00ff10802a', '{\"tags\": [\"vip\", \"ü\"], \"n\": 1}', 12.50),"
      "(2, 'O''Brien', NULL, NULL, NULL, NULL),"
      "(3, 'back\\slash', E'line\\nbreak\\ttab', '\\x', '{}', -1.00),"
      "(4, 'semi;colon (paren)', '''quoted''', '\\x0d0a1a', '[1,2,3]', 0)");
  db.execute(
      "CREATE TABLE \"order\" (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), "
      "total numeric(10,2))");
  db.execute("CREATE TABLE audit (id serial PRIMARY KEY, message text)");
  db.execute("CREATE UNLOGGED TABLE legacy (k int PRIMARY KEY, v text)");
  db.execute("INSERT INTO legacy VALUES (1, 'one'), (2, NULL)");
  db.execute("CREATE TABLE empty_table (id int PRIMARY KEY)");
  db.execute(
      "CREATE FUNCTION audit_order() RETURNS trigger LANGUAGE plpgsql AS "
      "$$BEGIN INSERT INTO audit (message) VALUES ('order ' || NEW.id); RETURN NEW; END$$");
  db.execute("CREATE TRIGGER order_audit AFTER INSERT ON \"order\" FOR EACH ROW EXECUTE FUNCTION audit_order()");
  db.execute("INSERT INTO \"order\" (customer_id, total) VALUES (1, 10.00), (1, 2.50), (2, 99.99), (4, 0.01)");
  db.execute(
      "CREATE VIEW big_spenders AS SELECT customer_id, SUM(total) AS spent FROM \"order\" GROUP BY customer_id "
      "HAVING SUM(total) > 5");
  db.execute(
      "CREATE FUNCTION order_total(c int) RETURNS numeric LANGUAGE sql AS "
      "$$ SELECT COALESCE(SUM(total), 0) FROM \"order\" WHERE customer_id = c $$");
}

void create_mariadb_bulk(const std::string& database, int rows) {
  auto db = servers().mariadb.admin();
  auto q = MysqlConnection::quote_identifier(database);
  db.execute("DROP DATABASE IF EXISTS " + q);
  db.execute("CREATE DATABASE " + q);
  db.execute("CREATE TABLE " + q + ".events (id INT PRIMARY KEY, payload VARCHAR(255))");
  db.execute("INSERT INTO " + q + ".events SELECT seq, CONCAT(REPEAT(MD5(seq), 6), seq) FROM " + q + ".seq_1_to_" +
             std::to_string(rows));
}

void create_postgres_bulk(const std::string& database, int rows) {
  auto admin = servers().postgres.admin();
  admin.execute("DROP DATABASE IF EXISTS " + PostgresConnection::quote_identifier(database) + " WITH (FORCE)");
  admin.execute("CREATE DATABASE " + PostgresConnection::quote_identifier(database) + " OWNER " + k_test_user);
  auto db = servers().postgres.admin(database);
  db.execute("SET ROLE " + std::string(k_test_user));
  db.execute("CREATE TABLE events (id int PRIMARY KEY, payload text)");
  db.execute("INSERT INTO events SELECT g, repeat(md5(g::text), 6) || g FROM generate_series(1, " +
             std::to_string(rows) + ") g");
}

std::map<std::string, std::string> mariadb_content(const std::string& database) {
  auto db = servers().mariadb.admin();
  std::map<std::string, std::string> content;
  auto tables =
      db.query("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = " +
               db.quote_string(database));
  for (const auto& name : column(tables))
    content[name] = digest_of_rows(db.query("SELECT * FROM " + MysqlConnection::quote_identifier(database) + "." +
                                            MysqlConnection::quote_identifier(name)));
  return content;
}

std::map<std::string, std::string> postgres_content(const std::string& database) {
  auto db = servers().postgres.admin(database);
  std::map<std::string, std::string> content;
  auto tables = db.query(
      "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
      "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
  for (const auto& name : column(tables)) content[name] = digest_of_rows(db.query("SELECT * FROM " + name));
  return content;
}

std::vector<std::string> mariadb_objects(const std::string& database) {
  auto db = servers().mariadb.admin();
  auto schema = db.quote_string(database);
  std::vector<std::string> objects;
  for (auto& v : column(db.query("SELECT table_name FROM information_schema.views WHERE table_schema = " + schema)))
    objects.push_back("view " + v);
  for (auto& t :
       column(db.query("SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = " + schema)))
    objects.push_back("trigger " + t);
  for (auto& r :
       column(db.query("SELECT routine_name FROM information_schema.routines WHERE routine_schema = " + schema)))
    objects.push_back("routine " + r);
  std::sort(objects.begin(), objects.end());
  return objects;
}

std::vector<std::string> postgres_objects(const std::string& database) {
  auto db = servers().postgres.admin(database);
  std::vector<std::string> objects;
  for (auto& v : column(db.query("SELECT viewname FROM pg_views WHERE schemaname = 'public'")))
    objects.push_back("view " + v);
  for (auto& t : column(db.query("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
    objects.push_back("trigger " + t);
  for (auto& r : column(db.query("SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                                 "WHERE n.nspname = 'public'")))
    objects.push_back("routine " + r);
  std::sort(objects.begin(), objects.end());
  return objects;
}

Target mariadb_target(const std::vector<std::string>& databases) {
  Target target;
  target.name = "shop";
  target.engine = "mariadb";
  target.host = "127.0.0.1";
  target.port = servers().mariadb.port();
  target.user = k_test_user;
  target.password = Secret(k_test_password);
  target.databases = databases;
  return target;
}

Target postgres_target(const std::vector<std::string>& databases) {
  Target target;
  target.name = "billing";
  target.engine = "postgres";
  target.host = "127.0.0.1";
  target.port = servers().postgres.port();
  target.user = k_test_user;
  target.password = Secret(k_test_password);
  target.databases = databases;
  return target;
}

}  // namespace dbkeeper::testing
