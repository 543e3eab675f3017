#include "tests/support/production_fixture.h"

#include <algorithm>
#include <regex>

#include "backup/pipeline/sha256_sink.h"
#include "tests/support/test_servers.h"

namespace dbkeeper::testing {
namespace {

std::string digest_rows(const QueryResult& result) {
  std::vector<std::string> rows;
  for (const auto& row : result.rows) {
    std::string line;
    for (const auto& value : row) line += (value ? "v" + std::to_string(value->size()) + ":" + *value : "NULL") + "|";
    rows.push_back(line);
  }
  std::sort(rows.begin(), rows.end());
  std::string all;
  for (const auto& row : rows) all += row + "\n";
  return std::to_string(rows.size()) + " rows " + sha256_hex(all);
}

std::string without_name(std::string text, const std::string& database) {
  for (const std::string& name : {"`" + database + "`", "\"" + database + "\"", database}) {
    for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at))
      text.replace(at, name.size(), "DB");
  }
  return text;
}

std::string row_text(const std::vector<SqlValue>& row, std::size_t from = 0) {
  std::string text;
  for (std::size_t i = from; i < row.size(); ++i) text += row[i].value_or("NULL") + "\n";
  return text;
}

}  // namespace

void create_mariadb_production_fixture(const std::string& database) {
  auto db = servers().mariadb.admin();
  auto q = MysqlConnection::quote_identifier(database);
  // The definer of the stored programs: an application account whose
  // privileges are global, so its routines work in a copy under another name.
  db.execute(std::string("CREATE USER IF NOT EXISTS '") + k_app_owner + "'@'localhost'");
  db.execute(std::string("GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE, TRIGGER ON *.* TO '") + k_app_owner +
             "'@'localhost'");
  db.execute("DROP DATABASE IF EXISTS " + q);
  db.execute("CREATE DATABASE " + q + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci COMMENT 'shop of record'");
  db.execute("USE " + q);
  db.execute(
      "CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, price DECIMAL(10,2) NOT NULL, "
      "kind ENUM('book', 'game', 'toy') NOT NULL, tags SET('new', 'sale', 'gift') NOT NULL DEFAULT '', "
      "description TEXT, picture BLOB, location POINT NOT NULL, "
      "price_with_tax DECIMAL(12,2) AS (price * 1.2) STORED, slug VARCHAR(100) AS (LOWER(name)) VIRTUAL, "
      "internal_note VARCHAR(50) INVISIBLE DEFAULT 'n/a', FULLTEXT KEY ft_description (description), "
      "SPATIAL KEY sp_location (location), KEY by_kind (kind, price)) ENGINE=InnoDB COMMENT 'catalogue'");
  db.execute(
      "INSERT INTO products (id, name, price, kind, tags, description, picture, location, internal_note) VALUES "
      "(1, 'Ærø Atlas', 12.50, 'book', 'new,gift', 'maps of islands ⛵', X'89504E470D0A1A0A', POINT(10.4, 54.9), "
      "'reprint'), (2, 'Go', 30.00, 'game', 'sale', NULL, NULL, POINT(0, 0), DEFAULT), "
      "(3, 'Yo-yo', 2.99, 'toy', '', 'spins', X'00', POINT(-1.5, 2.25), 'fragile')");
  db.execute(
      "CREATE TABLE stock (product_id INT PRIMARY KEY, quantity INT NOT NULL, "
      "CONSTRAINT stock_product FOREIGN KEY (product_id) REFERENCES products (id), "
      "CONSTRAINT stock_not_negative CHECK (quantity >= 0))");
  db.execute("CREATE TABLE stock_log (id INT AUTO_INCREMENT PRIMARY KEY, message VARCHAR(200) NOT NULL)");
  db.execute(std::string("CREATE DEFINER = '") + k_app_owner +
             "'@'localhost' TRIGGER stock_changed AFTER UPDATE ON stock FOR EACH ROW "
             "INSERT INTO stock_log (message) VALUES (CONCAT(NEW.product_id, ': ', OLD.quantity, ' -> ', "
             "NEW.quantity))");
  db.execute("INSERT INTO stock VALUES (1, 5), (2, 0), (3, 100)");
  db.execute("UPDATE stock SET quantity = quantity + 1 WHERE product_id = 1");
  db.execute("CREATE TABLE prices (product_id INT PRIMARY KEY, price DECIMAL(10,2)) WITH SYSTEM VERSIONING");
  db.execute("INSERT INTO prices VALUES (1, 10.00), (2, 30.00)");
  db.execute("UPDATE prices SET price = 11.00 WHERE product_id = 1");
  db.execute("UPDATE prices SET price = 12.50 WHERE product_id = 1");
  db.execute("DELETE FROM prices WHERE product_id = 2");
  db.execute("CREATE SEQUENCE invoice_numbers START WITH 1000 INCREMENT BY 5");
  db.execute("SELECT NEXTVAL(invoice_numbers)");
  db.execute("SELECT NEXTVAL(invoice_numbers)");
  db.execute(
      "CREATE TABLE visits (id INT NOT NULL, year SMALLINT NOT NULL, PRIMARY KEY (id, year)) "
      "PARTITION BY RANGE (year) (PARTITION p2025 VALUES LESS THAN (2026), PARTITION p2026 VALUES LESS THAN (2027), "
      "PARTITION pmax VALUES LESS THAN MAXVALUE)");
  db.execute("INSERT INTO visits VALUES (1, 2025), (2, 2026), (3, 2030)");
  db.execute("CREATE TABLE legacy_notes (id INT PRIMARY KEY, note VARCHAR(50)) CHARACTER SET latin1");
  db.execute("INSERT INTO legacy_notes VALUES (1, 'café')");
  db.execute(std::string("CREATE DEFINER = '") + k_app_owner +
             "'@'localhost' FUNCTION price_of(p INT) RETURNS DECIMAL(10,2) READS SQL DATA "
             "COMMENT 'the current price' RETURN (SELECT price FROM products WHERE id = p)");
  db.execute(std::string("CREATE DEFINER = '") + k_app_owner +
             "'@'localhost' PROCEDURE restock(IN p INT, IN n INT) SQL SECURITY INVOKER MODIFIES SQL DATA "
             "UPDATE stock SET quantity = quantity + n WHERE product_id = p");
  db.execute(std::string("CREATE DEFINER = '") + k_app_owner +
             "'@'localhost' SQL SECURITY DEFINER VIEW catalog AS SELECT id, name, price_of(id) AS price FROM products");
  db.execute(std::string("CREATE DEFINER = '") + k_app_owner +
             "'@'localhost' EVENT purge_log ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00' DISABLE "
             "COMMENT 'nightly' DO DELETE FROM stock_log WHERE id < 0");
}

std::map<std::string, std::string> mariadb_fingerprint(const std::string& database) {
  auto db = servers().mariadb.admin();
  auto q = MysqlConnection::quote_identifier(database);
  std::map<std::string, std::string> print;
  print["database"] = without_name(db.query("SHOW CREATE DATABASE " + q).rows.at(0).at(1).value_or(""), database);
  static const std::regex auto_increment(" AUTO_INCREMENT=[0-9]+");
  for (const auto& row : db.query("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = " +
                                  db.quote_string(database))
                             .rows) {
    std::string name = row[0].value_or(""), type = row[1].value_or("");
    auto table = q + "." + MysqlConnection::quote_identifier(name);
    if (type == "VIEW") {
      auto view = db.query("SHOW CREATE VIEW " + table).rows.at(0);
      print["view " + name] = without_name(row_text(view, 1), database);
      continue;
    }
    auto create = db.query("SHOW CREATE TABLE " + table).rows.at(0).at(1).value_or("");
    print["table " + name] = without_name(std::regex_replace(create, auto_increment, ""), database);
    // Every column, invisible ones included; history rows with their periods.
    std::string columns;
    for (const auto& column : db.query("SELECT column_name FROM information_schema.columns WHERE table_schema = " +
                                       db.quote_string(database) + " AND table_name = " + db.quote_string(name) +
                                       " ORDER BY ordinal_position")
                                  .rows)
      columns += (columns.empty() ? "" : ", ") + MysqlConnection::quote_identifier(column[0].value_or(""));
    if (type == "SYSTEM VERSIONED")
      print["rows " + name] =
          digest_rows(db.query("SELECT " + columns + ", ROW_START, ROW_END FROM " + table + " FOR SYSTEM_TIME ALL"));
    else
      print["rows " + name] = digest_rows(db.query("SELECT " + columns + " FROM " + table));
  }
  for (const auto& row : db.query("SELECT routine_type, routine_name FROM information_schema.routines "
                                  "WHERE routine_schema = " +
                                  db.quote_string(database))
                             .rows) {
    auto shown = db.query("SHOW CREATE " + row[0].value_or("") + " " + q + "." +
                          MysqlConnection::quote_identifier(row[1].value_or("")))
                     .rows.at(0);
    print["routine " + row[1].value_or("")] = without_name(row_text(shown, 1), database);
  }
  for (const auto& row : db.query("SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = " +
                                  db.quote_string(database))
                             .rows) {
    auto shown =
        db.query("SHOW CREATE TRIGGER " + q + "." + MysqlConnection::quote_identifier(row[0].value_or(""))).rows.at(0);
    // Column 6 is the creation time, which a copy cannot share.
    shown.resize(std::min<std::size_t>(shown.size(), 6));
    print["trigger " + row[0].value_or("")] = without_name(row_text(shown, 1), database);
  }
  for (const auto& row :
       db.query("SELECT event_name FROM information_schema.events WHERE event_schema = " + db.quote_string(database))
           .rows) {
    auto shown =
        db.query("SHOW CREATE EVENT " + q + "." + MysqlConnection::quote_identifier(row[0].value_or(""))).rows.at(0);
    print["event " + row[0].value_or("")] = without_name(row_text(shown, 1), database);
  }
  return print;
}

void create_postgres_production_fixture(const std::string& database) {
  auto admin = servers().postgres.admin();
  auto name = PostgresConnection::quote_identifier(database);
  for (const char* role : {k_app_owner, k_reporting})
    admin.execute(std::string("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '") + role +
                  "') THEN CREATE ROLE " + role + " NOLOGIN; END IF; END$$");
  // Restores keep owners (owner = "keep"): the restoring user is a member
  // of every owning role (docs/privileges.md).
  admin.execute(std::string("GRANT ") + k_app_owner + ", " + k_reporting + " TO " + k_test_user);
  admin.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  admin.execute("CREATE DATABASE " + name + " OWNER " + k_app_owner + " TEMPLATE template0 ENCODING 'UTF8'");
  admin.execute("COMMENT ON DATABASE " + name + " IS 'billing of record'");
  admin.execute("ALTER DATABASE " + name + " SET search_path = sales, public");
  admin.execute("ALTER DATABASE " + name + " SET work_mem = '8MB'");
  admin.execute("REVOKE ALL ON DATABASE " + name + " FROM PUBLIC");
  admin.execute("GRANT CONNECT, TEMPORARY ON DATABASE " + name + " TO " + k_reporting);
  // A database closed to PUBLIC must be opened to the backup user (docs/privileges.md).
  admin.execute("GRANT CONNECT ON DATABASE " + name + " TO " + k_test_user);

  auto db = servers().postgres.admin(database);
  db.execute("CREATE EXTENSION pg_stat_statements");  // not trusted: only a superuser restores it
  db.execute("CREATE EXTENSION pgcrypto");            // trusted: the database owner may
  db.execute(std::string("SET ROLE ") + k_app_owner);
  db.execute("CREATE SCHEMA sales");
  db.execute("CREATE DOMAIN sales.positive_money AS numeric(12,2) CHECK (VALUE > 0)");
  db.execute("CREATE TYPE sales.order_state AS ENUM ('open', 'paid', 'shipped')");
  db.execute(
      "CREATE TABLE sales.customers (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, "
      "email text UNIQUE, region text NOT NULL DEFAULT 'eu', secret bytea)");
  db.execute(
      "INSERT INTO sales.customers (name, email, region, secret) VALUES ('Zoë', 'zoe@example.org', 'eu', "
      "digest('x', 'sha256')), ('Ola', NULL, 'us', NULL)");
  db.execute("COMMENT ON TABLE sales.customers IS 'who buys'");
  db.execute("ALTER TABLE sales.customers ENABLE ROW LEVEL SECURITY");
  db.execute("CREATE POLICY regional ON sales.customers FOR SELECT TO reporting USING (region = 'eu')");
  db.execute(
      "CREATE TABLE sales.orders (id bigint GENERATED BY DEFAULT AS IDENTITY, customer_id int NOT NULL "
      "REFERENCES sales.customers (id), state sales.order_state NOT NULL DEFAULT 'open', "
      "total sales.positive_money NOT NULL, placed date NOT NULL, total_cents bigint GENERATED ALWAYS AS "
      "((total * 100)::bigint) STORED, PRIMARY KEY (id, placed)) PARTITION BY RANGE (placed)");
  db.execute(
      "CREATE TABLE sales.orders_2025 PARTITION OF sales.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
  db.execute(
      "CREATE TABLE sales.orders_2026 PARTITION OF sales.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
  db.execute("CREATE INDEX orders_by_state ON sales.orders (state)");
  db.execute(
      "INSERT INTO sales.orders (customer_id, state, total, placed) VALUES (1, 'paid', 10.50, '2025-03-01'), "
      "(1, 'open', 3.00, '2026-02-01'), (2, 'shipped', 99.99, '2026-05-05')");
  db.execute("CREATE TABLE sales.order_audit (id serial PRIMARY KEY, order_id bigint, state sales.order_state)");
  db.execute(
      "CREATE FUNCTION sales.audit_order() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS "
      "$$BEGIN INSERT INTO sales.order_audit (order_id, state) VALUES (NEW.id, NEW.state); RETURN NEW; END$$");
  db.execute(
      "CREATE TRIGGER order_state_changed AFTER UPDATE OF state ON sales.orders FOR EACH ROW "
      "EXECUTE FUNCTION sales.audit_order()");
  db.execute("UPDATE sales.orders SET state = 'shipped' WHERE total = 3.00");
  db.execute(
      "CREATE FUNCTION sales.customer_total(c int) RETURNS numeric LANGUAGE sql STABLE AS "
      "$$ SELECT coalesce(sum(total), 0) FROM sales.orders WHERE customer_id = c $$");
  db.execute(
      "CREATE VIEW sales.customer_totals AS SELECT id, name, sales.customer_total(id) AS total FROM sales.customers");
  db.execute(
      "CREATE MATERIALIZED VIEW sales.daily AS SELECT placed, count(*) AS orders FROM sales.orders GROUP BY placed");
  db.execute(
      "CREATE FUNCTION sales.add_money(a numeric, b numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS "
      "$$ SELECT a + b $$");
  db.execute("CREATE AGGREGATE sales.money_sum(numeric) (SFUNC = sales.add_money, STYPE = numeric, INITCOND = '0')");
  db.execute(
      "CREATE PROCEDURE sales.close_open_orders() LANGUAGE sql AS $$ UPDATE sales.orders SET state = 'paid' "
      "WHERE state = 'open' $$");
  db.execute("CREATE SEQUENCE sales.invoice_numbers START 1000 INCREMENT 5");
  db.execute("SELECT nextval('sales.invoice_numbers'), nextval('sales.invoice_numbers')");
  // The database owner's own table in public, which it may create in
  // through pg_database_owner alone.
  db.execute("CREATE TABLE public.settings (key text PRIMARY KEY, value text)");
  db.execute("INSERT INTO public.settings VALUES ('currency', 'EUR')");
  db.execute("GRANT USAGE ON SCHEMA sales TO reporting");
  db.execute("GRANT CREATE ON SCHEMA public TO reporting");
  db.execute("GRANT SELECT ON sales.customers, sales.customer_totals TO reporting");
  db.execute("RESET ROLE");
  db.execute(std::string("SET ROLE ") + k_reporting);
  db.execute("CREATE TABLE public.report_runs (id int PRIMARY KEY, ran_at timestamptz NOT NULL DEFAULT now())");
  db.execute("INSERT INTO public.report_runs VALUES (1, '2026-11-30 12:00:00+00')");
  db.execute("RESET ROLE");
}

std::map<std::string, std::string> postgres_fingerprint(const std::string& database) {
  auto db = servers().postgres.admin(database);
  db.query("SELECT pg_catalog.set_config('search_path', '', false)");
  std::map<std::string, std::string> print;
  auto properties = db.query(
      "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype, "
      "(SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(datacl) a), coalesce(shobj_description(oid, "
      "'pg_database'), ''), "
      "(SELECT string_agg(c, ';' ORDER BY c) FROM pg_db_role_setting s, unnest(s.setconfig) c "
      "WHERE s.setdatabase = d.oid AND s.setrole = 0) FROM pg_database d WHERE datname = current_database()");
  print["database"] = without_name(row_text(properties.rows.at(0)), database);
  print["extensions"] = row_text(db.query("SELECT string_agg(extname || ' ' || extversion, ',' ORDER BY extname) "
                                          "FROM pg_extension")
                                     .rows.at(0));
  for (const auto& row :
       db.query(
             "SELECT c.oid, n.nspname || '.' || c.relname, c.relkind, "
             "pg_get_userbyid(c.relowner), (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(c.relacl) a), "
             "c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE n.nspname IN ('public', 'sales') AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I') "
             "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')")
           .rows) {
    std::string oid = row[0].value_or(""), name = row[1].value_or(""), kind = row[2].value_or("");
    std::string definition = row_text(row, 2);
    if (kind == "v" || kind == "m") definition += db.query("SELECT pg_get_viewdef(" + oid + ")").scalar().value_or("");
    if (kind == "i" || kind == "I") definition += db.query("SELECT pg_get_indexdef(" + oid + ")").scalar().value_or("");
    if (kind == "r" || kind == "p") {
      definition +=
          row_text(db.query("SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || "
                            "' ' || a.attnotnull || ' ' || a.attidentity::text || a.attgenerated::text || ' ' || "
                            "coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum) "
                            "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND "
                            "d.adnum = a.attnum WHERE a.attrelid = " +
                            oid + " AND a.attnum > 0 AND NOT a.attisdropped")
                       .rows.at(0));
      definition += row_text(db.query("SELECT pg_get_partkeydef(" + oid +
                                      "), pg_get_expr(relpartbound, oid), "
                                      "obj_description(oid, 'pg_class') FROM pg_class WHERE oid = " +
                                      oid)
                                 .rows.at(0));
      print["rows " + name] = digest_rows(db.query("SELECT * FROM ONLY " + name));
    }
    if (kind == "S") definition += row_text(db.query("SELECT last_value, is_called FROM " + name).rows.at(0));
    print["relation " + name] = definition;
  }
  for (const auto& row : db.query("SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid) "
                                  "FROM pg_constraint WHERE connamespace = 'sales'::regnamespace")
                             .rows)
    print["constraint " + row[0].value_or("")] = row[1].value_or("");
  for (const auto& row : db.query("SELECT p.oid::regprocedure::text, p.prokind, pg_get_userbyid(p.proowner), "
                                  "CASE WHEN p.prokind = 'a' THEN '' ELSE pg_get_functiondef(p.oid) END "
                                  "FROM pg_proc p WHERE p.pronamespace = 'sales'::regnamespace ORDER BY 1")
                             .rows)
    print["routine " + row[0].value_or("")] = row_text(row, 1);
  for (const auto& row : db.query("SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal").rows)
    print["trigger " + row[0].value_or("")] = row[1].value_or("");
  for (const auto& row : db.query("SELECT polname, polcmd, polroles::text, pg_get_expr(polqual, polrelid) "
                                  "FROM pg_policy")
                             .rows)
    print["policy " + row[0].value_or("")] = row_text(row, 1);
  for (const auto& row : db.query("SELECT t.typname, t.typtype, pg_get_userbyid(t.typowner), "
                                  "(SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum "
                                  "WHERE enumtypid = t.oid), format_type(t.typbasetype, t.typtypmod) FROM pg_type t "
                                  "WHERE t.typnamespace = 'sales'::regnamespace AND t.typtype IN ('e', 'd')")
                             .rows)
    print["type " + row[0].value_or("")] = row_text(row, 1);
  print["schema sales"] = row_text(db.query("SELECT pg_get_userbyid(nspowner), (SELECT string_agg(a::text, ',' "
                                            "ORDER BY a::text) FROM unnest(nspacl) a) "
                                            "FROM pg_namespace WHERE nspname = 'sales'")
                                       .rows.at(0));
  return print;
}

}  // namespace dbkeeper::testing
