// Copies of production-like databases, taken and restored by a user that
// holds exactly the privileges docs/privileges.md lists: each copy equals
// its source in content, objects, definitions and database properties;
// verification compares all of that; what cannot be carried is named.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "backup/backup_job.h"
#include "backup/point_in_time.h"
#include "backup/readiness_check.h"
#include "backup/restore_job.h"
#include "backup/verify_job.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/production_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace testing;

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

class FaithfulCopyTest : public ::testing::Test {
 protected:
  TempDir m_dir;
  Repository m_repository{m_dir.path()};
};

TEST_F(FaithfulCopyTest, mariadb_copy_equals_the_source_in_everything_it_carries) {
  create_mariadb_production_fixture("prod_shop");
  Target target = mariadb_target({"prod_shop"});
  auto report = run_full_backup(target, m_repository, CompressionSettings{});

  // Row counts include history rows of system-versioned tables (they are dumped).
  std::map<std::string, std::uint64_t> rows;
  for (const auto& table : report.manifest.tables.at("prod_shop")) rows[table.name] = table.rows;
  EXPECT_EQ(rows["prices"], 4u);  // one current row, and three in its history
  EXPECT_EQ(rows["products"], 3u);
  EXPECT_EQ(rows["visits"], 3u);
  EXPECT_EQ(rows.count("invoice_numbers"), 0u);  // a sequence is no table of rows
  const auto& recorded = report.manifest.descriptions.at("prod_shop");
  EXPECT_EQ(recorded.properties.character_set, "utf8mb4");
  EXPECT_EQ(recorded.properties.collation, "utf8mb4_unicode_ci");
  EXPECT_EQ(recorded.properties.comment, "shop of record");

  auto verification = verify_backup(target, m_repository, "latest", true);
  EXPECT_TRUE(verification.passed) << joined(verification.problems);
  EXPECT_EQ(verification.result, "passed");

  auto restored = restore_backup(target, m_repository, RestoreRequest{"latest", "prod_shop_copy", "", false});
  EXPECT_TRUE(restored.notes.empty()) << joined(restored.notes);
  auto source = mariadb_fingerprint("prod_shop");
  auto copy = mariadb_fingerprint("prod_shop_copy");
  for (const auto& key : {"database", "view catalog", "routine price_of", "routine restock", "trigger stock_changed",
                          "event purge_log", "rows prices", "rows products", "table invoice_numbers",
                          "rows invoice_numbers", "table visits", "table legacy_notes"})
    EXPECT_TRUE(source.contains(key)) << key;
  for (const auto& [key, value] : source) EXPECT_EQ(copy[key], value) << key;
  EXPECT_EQ(copy.size(), source.size());

  // The copy works: its trigger fires, its routines run as their definer.
  auto db = servers().mariadb.admin();
  db.execute("UPDATE prod_shop_copy.stock SET quantity = 7 WHERE product_id = 2");
  EXPECT_EQ(db.query("SELECT message FROM prod_shop_copy.stock_log ORDER BY id DESC LIMIT 1").scalar(), "2: 0 -> 7");
  EXPECT_EQ(db.query("SELECT price FROM prod_shop_copy.catalog WHERE id = 1").scalar(), "12.50");
  db.execute("CALL prod_shop_copy.restock(3, 5)");
  EXPECT_EQ(db.query("SELECT quantity FROM prod_shop_copy.stock WHERE product_id = 3").scalar(), "105");
  // A sequence continues past every value the source handed out (like
  // after a server restart, the values the source had cached are skipped).
  EXPECT_GE(std::stoll(db.query("SELECT NEXTVAL(prod_shop_copy.invoice_numbers)").scalar().value_or("0")),
            std::stoll(db.query("SELECT NEXTVAL(prod_shop.invoice_numbers)").scalar().value_or("0")));
  db.execute("DROP DATABASE prod_shop_copy");
}

TEST_F(FaithfulCopyTest, postgres_copy_keeps_owners_settings_grants_and_names_the_extension_it_could_not_create) {
  create_postgres_production_fixture("prod_billing");
  Target target = postgres_target({"prod_billing"});
  auto report = run_full_backup(target, m_repository, CompressionSettings{});

  // A partitioned table's rows are its partitions' rows: counted once.
  std::map<std::string, std::uint64_t> rows;
  for (const auto& table : report.manifest.tables.at("prod_billing")) rows[table.name] = table.rows;
  EXPECT_EQ(rows.count("sales.orders"), 0u);
  EXPECT_EQ(rows["sales.orders_2025"], 1u);
  EXPECT_EQ(rows["sales.orders_2026"], 2u);
  EXPECT_EQ(rows["sales.customers"], 2u);  // every row, past the row-level security policy
  const auto& recorded = report.manifest.descriptions.at("prod_billing").properties;
  EXPECT_EQ(recorded.owner, k_app_owner);
  EXPECT_EQ(recorded.comment, "billing of record");
  ASSERT_TRUE(recorded.grants.has_value());

  // In a scratch instance dbkeeper is the superuser: the copy carries everything.
  auto verification = verify_backup(target, m_repository, "latest", true);
  EXPECT_TRUE(verification.passed) << joined(verification.problems);
  EXPECT_TRUE(verification.notes.empty()) << joined(verification.notes);
  // On the server, as the documented (non-superuser) user, it names what it left out.
  Target on_server = target;
  on_server.verify.into = "server";
  verification = verify_backup(on_server, m_repository, "latest", true);
  EXPECT_TRUE(verification.passed) << joined(verification.problems);
  ASSERT_EQ(verification.notes.size(), 1u) << joined(verification.notes);
  EXPECT_NE(verification.notes[0].find("extension 'pg_stat_statements' was not created"), std::string::npos);

  auto restored = restore_backup(target, m_repository, RestoreRequest{"latest", "prod_billing_copy", "", false});
  ASSERT_EQ(restored.notes.size(), 1u) << joined(restored.notes);
  EXPECT_NE(restored.notes[0].find("only a superuser can"), std::string::npos) << restored.notes[0];

  auto source = postgres_fingerprint("prod_billing");
  auto copy = postgres_fingerprint("prod_billing_copy");
  // The one difference: the extension that needs a superuser.
  EXPECT_NE(source["extensions"], copy["extensions"]);
  source.erase("extensions");
  copy.erase("extensions");
  for (const auto& key :
       {"database", "relation sales.orders", "relation sales.orders_2026", "relation sales.daily",
        "relation sales.invoice_numbers", "relation sales.customer_totals", "policy regional",
        "trigger order_state_changed", "type order_state", "type positive_money", "routine sales.money_sum(numeric)",
        "routine sales.close_open_orders()", "relation public.report_runs", "schema sales"})
    EXPECT_TRUE(source.contains(key)) << key;
  for (const auto& [key, value] : source) EXPECT_EQ(copy[key], value) << key;
  EXPECT_EQ(copy.size(), source.size());

  auto db = servers().postgres.admin("prod_billing_copy");
  db.execute("UPDATE sales.orders SET state = 'paid' WHERE total = 99.99");
  EXPECT_EQ(db.query("SELECT count(*) FROM sales.order_audit").scalar(), "2");
  EXPECT_EQ(db.query("SELECT total FROM sales.customer_totals WHERE id = 1").scalar(), "13.50");
  EXPECT_EQ(db.query("SELECT sales.money_sum(total) FROM sales.orders").scalar(), "113.49");
  db.execute("CALL sales.close_open_orders()");
  EXPECT_EQ(db.query("SELECT nextval('sales.invoice_numbers')").scalar(), "1010");
  auto admin = servers().postgres.admin();
  admin.execute("DROP DATABASE prod_billing_copy WITH (FORCE)");
}

TEST_F(FaithfulCopyTest, postgres_restore_as_the_restoring_user_without_privileges) {
  create_postgres_production_fixture("prod_billing_plain");
  // Without membership in the owning roles: everything becomes the restoring user's.
  servers().postgres.admin().execute(std::string("REVOKE ") + k_app_owner + ", " + k_reporting + " FROM " +
                                     k_test_user);
  struct Regrant {
    ~Regrant() {
      servers().postgres.admin().execute(std::string("GRANT ") + k_app_owner + ", " + k_reporting + " TO " +
                                         k_test_user);
    }
  } regrant;
  Target target = postgres_target({"prod_billing_plain"});
  target.restore.owner = "restoring-user";
  target.restore.privileges = false;
  run_full_backup(target, m_repository, CompressionSettings{});
  auto verification = verify_backup(target, m_repository, "latest", true);
  EXPECT_TRUE(verification.passed) << joined(verification.problems);
  restore_backup(target, m_repository, RestoreRequest{"latest", "prod_billing_plain_copy", "", false});
  auto db = servers().postgres.admin("prod_billing_plain_copy");
  EXPECT_EQ(db.query("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'customers'").scalar(),
            k_test_user);
  EXPECT_EQ(db.query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()").scalar(),
            k_test_user);
  EXPECT_EQ(db.query("SELECT relacl IS NULL FROM pg_class WHERE relname = 'customers'").scalar(), "t");
  // Settings and the comment still come along.
  EXPECT_EQ(db.query("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = "
                     "current_database()")
                .scalar(),
            "billing of record");
  auto admin = servers().postgres.admin();
  admin.execute("DROP DATABASE prod_billing_plain_copy WITH (FORCE)");
}

TEST_F(FaithfulCopyTest, verification_fails_when_the_copy_differs_from_what_the_backup_recorded) {
  create_mariadb_production_fixture("drift_shop");
  Target target = mariadb_target({"drift_shop"});
  auto report = run_full_backup(target, m_repository, CompressionSettings{});
  // Rewrite the record as if the dump had lost a view's definition and a trigger.
  auto manifest = report.manifest;
  for (auto& object : manifest.descriptions.at("drift_shop").objects)
    if (object.kind == "view" && object.name == "catalog") object.digest = "0000";
  manifest.descriptions.at("drift_shop").objects.push_back({"trigger", "ghost", "1111", "", "", std::nullopt});
  auto text = manifest_to_json(manifest);
  for (const char* file : {"manifest.json", "manifest.copy.json"}) std::ofstream(report.directory / file) << text;

  auto verification = verify_backup(target, m_repository, "latest", true);
  EXPECT_FALSE(verification.passed);
  EXPECT_EQ(verification.result, "failed");
  auto problems = joined(verification.problems);
  EXPECT_NE(problems.find("view 'catalog' has another definition"), std::string::npos) << problems;
  EXPECT_NE(problems.find("trigger 'ghost' is missing from the copy"), std::string::npos) << problems;
  EXPECT_EQ(verification.problems.size(), 2u) << problems;
  // A backup whose verification failed is no restore point.
  auto backups = m_repository.list(target.name);
  EXPECT_FALSE(recovery_window(backups, {}, std::nullopt).start.has_value());
}

TEST_F(FaithfulCopyTest, a_verification_that_cannot_run_is_recorded_as_such_not_as_a_failed_copy) {
  create_mariadb_fixture("cannot_run");
  Target target = mariadb_target({"cannot_run"});
  run_full_backup(target, m_repository, CompressionSettings{});
  auto root = servers().mariadb.admin();
  root.execute("CREATE USER IF NOT EXISTS 'backup_only'@'127.0.0.1' IDENTIFIED BY 'b4ckup-0nly'");
  root.execute("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, EXECUTE, BINLOG MONITOR ON *.* TO 'backup_only'@'127.0.0.1'");
  Target reader = target;
  reader.user = "backup_only";
  reader.password = Secret("b4ckup-0nly");
  // On the server, where the restore needs what this user lacks.
  reader.verify.into = "server";
  EXPECT_THROW(verify_backup(reader, m_repository, "latest", true), Error);
  auto entry = m_repository.find(target.name, "latest");
  ASSERT_TRUE(entry.verification.has_value());
  EXPECT_EQ(entry.verification->result, "could-not-run");
  EXPECT_NE(entry.verification->reason.find("denied"), std::string::npos) << entry.verification->reason;
  auto state = m_repository.read_state(target.name);
  EXPECT_EQ(state.verifications.could_not_run, 1u);
  EXPECT_EQ(state.verifications.failure, 0u);

  // list --json says so, with the reason and every table's row count.
  auto config = m_dir.path() / "dbkeeper.toml";
  std::ofstream(config) << "[agent]\nrepository = \"" << m_dir.path().string()
                        << "\"\n[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"u\"\n";
  auto listed = run_dbkeeper({"list", "--json", "--config", config.string()});
  EXPECT_EQ(listed.status.code, 0) << listed.stderr_text;
  auto json = nlohmann::json::parse(listed.stdout_text);
  ASSERT_EQ(json.size(), 1u) << listed.stdout_text;
  EXPECT_EQ(json[0]["verification"], "could-not-run");
  EXPECT_EQ(json[0]["restorable"], true);
  EXPECT_NE(json[0]["verification_reason"].get<std::string>().find("denied"), std::string::npos);
  EXPECT_EQ(json[0]["tables"]["cannot_run"]["order"], 4);

  // A verification that ran replaces it; a later one that cannot run does not replace that.
  EXPECT_TRUE(verify_backup(target, m_repository, "latest", true).passed);
  EXPECT_THROW(verify_backup(reader, m_repository, "latest", true), Error);
  EXPECT_EQ(m_repository.find(target.name, "latest").verification->result, "passed");
}

TEST_F(FaithfulCopyTest, restore_refuses_before_loading_when_the_server_would_reject_stored_programs) {
  create_mariadb_fixture("no_trust");
  Target target = mariadb_target({"no_trust"});
  run_full_backup(target, m_repository, CompressionSettings{});
  auto root = servers().mariadb.admin();
  root.execute("SET GLOBAL log_bin_trust_function_creators = 0");
  try {
    restore_backup(target, m_repository, RestoreRequest{"latest", "no_trust_copy", "", false});
    ADD_FAILURE() << "restore went ahead";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("log_bin_trust_function_creators"), std::string::npos) << e.what();
  }
  auto checks = check_target(target, m_repository);
  root.execute("SET GLOBAL log_bin_trust_function_creators = 1");
  EXPECT_TRUE(root.query("SHOW DATABASES LIKE 'no\\_trust\\_copy'").empty()) << "a partial copy was left";
  bool found = false;
  for (const auto& check : checks)
    if (check.check == "stored-programs") {
      found = true;
      EXPECT_FALSE(check.ok);
      EXPECT_NE(check.detail.find("SET GLOBAL log_bin_trust_function_creators = 1"), std::string::npos);
    }
  EXPECT_TRUE(found);
}

TEST_F(FaithfulCopyTest, check_passes_with_the_documented_grants_and_names_what_is_missing) {
  create_mariadb_fixture("checked");
  create_postgres_production_fixture("checked_pg");
  for (Target target : {mariadb_target({"checked"}), postgres_target({"checked_pg"})}) {
    target.schedule.verify = "0 5 * * *";
    if (target.engine == "mariadb") {
      target.schedule.continuous_log = true;
      target.schedule.incremental = "0 * * * *";
    }
    for (const auto& check : check_target(target, m_repository))
      EXPECT_TRUE(check.ok) << target.engine << " " << check.check << ": " << check.detail;
  }

  auto root = servers().mariadb.admin();
  root.execute("CREATE USER IF NOT EXISTS 'backup_only'@'127.0.0.1' IDENTIFIED BY 'b4ckup-0nly'");
  root.execute("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, EXECUTE, BINLOG MONITOR ON *.* TO 'backup_only'@'127.0.0.1'");
  Target reader = mariadb_target({"checked"});
  reader.user = "backup_only";
  reader.password = Secret("b4ckup-0nly");
  bool found = false;
  for (const auto& check : check_target(reader, m_repository)) {
    if (check.check != "privileges") continue;
    found = true;
    EXPECT_FALSE(check.ok);
    EXPECT_NE(check.detail.find("lacks CREATE, DROP"), std::string::npos) << check.detail;
    EXPECT_NE(check.detail.find("GRANT CREATE, DROP, ALTER, INSERT, LOCK TABLES"), std::string::npos) << check.detail;
    EXPECT_NE(check.detail.find("'backup_only'@'127.0.0.1'"), std::string::npos) << check.detail;
  }
  EXPECT_TRUE(found);

  // owner = "keep" needs membership in every owning role.
  servers().postgres.admin().execute(std::string("REVOKE ") + k_app_owner + ", " + k_reporting + " FROM " +
                                     k_test_user);
  bool owners = false;
  for (const auto& check : check_target(postgres_target({"checked_pg"}), m_repository))
    if (check.check == "restore-owners") {
      owners = true;
      EXPECT_FALSE(check.ok);
      EXPECT_NE(check.detail.find("GRANT \"app_owner\", \"reporting\" TO \"dbkeeper\""), std::string::npos)
          << check.detail;
    }
  EXPECT_TRUE(owners);
  servers().postgres.admin().execute(std::string("GRANT ") + k_app_owner + ", " + k_reporting + " TO " + k_test_user);
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

using namespace testing;

// mariadb-dump refuses --dump-history for transaction-precise versioning:
// the backup still runs, without history for that database, and says so.
TEST(FaithfulCopy, transaction_precise_history_is_named_as_not_carried) {
  TempDir dir;
  Repository repository(dir.path());
  auto db = servers().mariadb.admin();
  db.execute("DROP DATABASE IF EXISTS precise_history");
  db.execute("CREATE DATABASE precise_history");
  db.execute(
      "CREATE TABLE precise_history.t (id INT PRIMARY KEY, x INT, s BIGINT UNSIGNED GENERATED ALWAYS AS ROW START, "
      "e BIGINT UNSIGNED GENERATED ALWAYS AS ROW END, PERIOD FOR SYSTEM_TIME (s, e)) ENGINE=InnoDB WITH SYSTEM "
      "VERSIONING");
  db.execute("INSERT INTO precise_history.t (id, x) VALUES (1, 1), (2, 2)");
  db.execute("UPDATE precise_history.t SET x = 3 WHERE id = 1");
  Target target = mariadb_target({"precise_history"});
  auto report = run_full_backup(target, repository, CompressionSettings{});
  ASSERT_EQ(report.manifest.tables.at("precise_history").size(), 1u);
  EXPECT_EQ(report.manifest.tables.at("precise_history")[0].rows, 2u);  // the current rows
  auto verification = verify_backup(target, repository, "latest", true);
  EXPECT_TRUE(verification.passed) << verification.reason;
  auto restored = restore_backup(target, repository, RestoreRequest{"latest", "precise_history_copy", "", false});
  ASSERT_EQ(restored.notes.size(), 1u);
  EXPECT_NE(restored.notes[0].find("transaction-precise versioning (table t)"), std::string::npos) << restored.notes[0];
  EXPECT_EQ(db.query("SELECT COUNT(*) FROM precise_history_copy.t").scalar(), "2");
  db.execute("DROP DATABASE precise_history_copy");
}

}  // namespace
}  // namespace dbkeeper
