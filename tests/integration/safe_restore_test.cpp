// restore --force never leaves less than there was: the backup is loaded
// under a temporary name, proved, and swapped in; the replaced database is
// kept as NAME_before_ID; protected databases are refused always.

#include <gtest/gtest.h>

#include <fstream>

#include "backup/backup_job.h"
#include "backup/engine.h"
#include "backup/restore_job.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/production_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace testing;

class SafeRestoreTest : public ::testing::Test {
 protected:
  TempDir m_dir;
  Repository m_repository{m_dir.path()};
};

TEST_F(SafeRestoreTest, mariadb_force_swaps_in_a_proved_copy_and_keeps_the_old_database) {
  create_mariadb_production_fixture("swap_source");
  create_mariadb_fixture("swap_target");  // other tables, a trigger, a view, a function
  auto old_content = mariadb_content("swap_target");
  auto old_objects = mariadb_objects("swap_target");
  Target target = mariadb_target({"swap_source"});
  auto report = run_full_backup(target, m_repository, CompressionSettings{});
  auto restored = restore_backup(target, m_repository, RestoreRequest{"latest", "swap_target", "", true});
  std::string previous = previous_database_name("swap_target", report.manifest.id);
  EXPECT_EQ(restored.previous_database, previous);

  auto source = mariadb_fingerprint("swap_source");
  auto copy = mariadb_fingerprint("swap_target");
  for (const auto& [key, value] : source) EXPECT_EQ(copy[key], value) << key;
  EXPECT_EQ(copy.size(), source.size());
  EXPECT_EQ(mariadb_content(previous), old_content);
  EXPECT_EQ(mariadb_objects(previous), old_objects);
  // The old database's trigger still works where it is kept.
  auto db = servers().mariadb.admin();
  db.execute("INSERT INTO `" + previous + "`.`order` (customer_id, total) VALUES (1, 1.00)");
  EXPECT_EQ(db.query("SELECT COUNT(*) FROM `" + previous + "`.audit").scalar(), "5");
  EXPECT_TRUE(db.query("SHOW DATABASES LIKE 'dbkeeper\\_restore\\_%'").empty());
  db.execute("DROP DATABASE `" + previous + "`");
}

TEST_F(SafeRestoreTest, postgres_force_ends_sessions_only_at_the_swap_and_keeps_the_old_database) {
  create_postgres_production_fixture("pg_swap_source");
  create_postgres_fixture("pg_swap_target");
  auto old_content = postgres_content("pg_swap_target");
  Target target = postgres_target({"pg_swap_source"});
  auto report = run_full_backup(target, m_repository, CompressionSettings{});
  auto options = servers().postgres.user_options();
  options.database = "pg_swap_target";
  auto session = PostgresConnection::connect(options);  // an application still connected
  auto restored = restore_backup(target, m_repository, RestoreRequest{"latest", "pg_swap_target", "", true});
  std::string previous = previous_database_name("pg_swap_target", report.manifest.id);
  EXPECT_EQ(restored.previous_database, previous);
  EXPECT_THROW(session.query("SELECT 1"), Error);  // ended at the swap

  auto source = postgres_fingerprint("pg_swap_source");
  auto copy = postgres_fingerprint("pg_swap_target");
  source.erase("extensions");
  copy.erase("extensions");
  for (const auto& [key, value] : source) EXPECT_EQ(copy[key], value) << key;
  EXPECT_EQ(postgres_content(previous), old_content);
  servers().postgres.admin().execute("DROP DATABASE \"" + previous + "\" WITH (FORCE)");
}

TEST_F(SafeRestoreTest, a_copy_that_does_not_match_the_backup_never_replaces_anything) {
  create_mariadb_fixture("mismatch_source");
  create_mariadb_fixture("mismatch_target");
  servers().mariadb.admin().execute("INSERT INTO mismatch_target.legacy VALUES (3, 'mine')");
  auto before = mariadb_content("mismatch_target");
  Target target = mariadb_target({"mismatch_source"});
  auto report = run_full_backup(target, m_repository, CompressionSettings{});
  auto manifest = report.manifest;
  for (auto& table : manifest.tables.at("mismatch_source"))
    if (table.name == "customers") table.rows += 1;  // as if the dump had lost a row
  auto text = manifest_to_json(manifest);
  for (const char* file : {"manifest.json", "manifest.copy.json"}) std::ofstream(report.directory / file) << text;
  try {
    restore_backup(target, m_repository, RestoreRequest{"latest", "mismatch_target", "", true});
    ADD_FAILURE() << "a copy with a missing row replaced the database";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    EXPECT_NE(std::string(e.what()).find("'mismatch_target' was left as it was"), std::string::npos) << e.what();
  }
  EXPECT_EQ(mariadb_content("mismatch_target"), before);
  auto db = servers().mariadb.admin();
  EXPECT_TRUE(db.query("SHOW DATABASES LIKE 'dbkeeper\\_restore\\_%'").empty());
  EXPECT_TRUE(db.query("SHOW DATABASES LIKE 'mismatch\\_target\\_before\\_%'").empty());
}

TEST_F(SafeRestoreTest, protected_databases_are_refused_even_with_force) {
  create_mariadb_fixture("protected_source");
  Target target = mariadb_target({"protected_source"});
  run_full_backup(target, m_repository, CompressionSettings{});
  for (const char* name : {"mysql", "sys", "information_schema", "performance_schema", "MySQL"}) {
    try {
      restore_backup(target, m_repository, RestoreRequest{"latest", name, "", true});
      ADD_FAILURE() << name;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is protected"), std::string::npos) << e.what();
    }
  }
  RestoreRequest patterned{"latest", "billing_live", "", false};
  patterned.protected_databases = {"*_live", "prod_*"};
  EXPECT_THROW(restore_backup(target, m_repository, patterned), Error);
  EXPECT_FALSE(create_engine("mariadb")->database_exists(target, "billing_live"));
  Target pg = postgres_target({"postgres"});
  for (const char* name : {"postgres", "template0", "template1"})
    EXPECT_THROW(restore_backup(pg, m_repository, RestoreRequest{"latest", name, "", true}), Error) << name;
}

TEST_F(SafeRestoreTest, the_cli_asks_for_yes_before_replacing_a_database) {
  create_mariadb_fixture("cli_swap_source");
  create_mariadb_fixture("cli_swap_target");
  auto password = m_dir.path() / "password";
  std::ofstream(password) << k_test_password << "\n";
  std::filesystem::permissions(password, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto config = m_dir.path() / "dbkeeper.toml";
  std::ofstream(config) << "[agent]\nrepository = \"" << (m_dir.path() / "repository").string()
                        << "\"\n[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nport = " << servers().mariadb.port()
                        << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << password.string()
                        << "\"\ndatabases = [\"cli_swap_source\"]\n";
  auto backup = run_dbkeeper({"backup", "shop", "--type", "full", "--config", config.string()});
  ASSERT_EQ(backup.status.code, 0) << backup.stderr_text;
  auto unconfirmed = run_dbkeeper(
      {"restore", "shop", "--backup", "latest", "--to-db", "cli_swap_target", "--force", "--config", config.string()});
  EXPECT_EQ(unconfirmed.status.code, 2);
  EXPECT_NE(unconfirmed.stderr_text.find("confirm with --yes"), std::string::npos) << unconfirmed.stderr_text;
  auto confirmed = run_dbkeeper({"restore", "shop", "--backup", "latest", "--to-db", "cli_swap_target", "--force",
                                 "--yes", "--config", config.string()});
  EXPECT_EQ(confirmed.status.code, 0) << confirmed.stderr_text;
  EXPECT_NE(confirmed.stdout_text.find("the database it replaced is kept as 'cli_swap_target_before_"),
            std::string::npos)
      << confirmed.stdout_text;
  auto db = servers().mariadb.admin();
  for (const auto& row : db.query("SHOW DATABASES LIKE 'cli\\_swap\\_target\\_before\\_%'").rows)
    db.execute("DROP DATABASE `" + row[0].value_or("") + "`");
}

}  // namespace
}  // namespace dbkeeper

#include "backup/prune_job.h"

namespace dbkeeper {
namespace {

using namespace testing;

// The database a restore --force replaced is kept for keep_replaced, then
// prune drops it (and says so in --dry-run first).
TEST(SafeRestore, prune_drops_a_replaced_database_after_keep_replaced) {
  TempDir dir;
  Repository repository(dir.path());
  create_mariadb_fixture("kept_source");
  create_mariadb_fixture("kept_target");
  Target target = mariadb_target({"kept_source"});
  target.restore.keep_replaced = std::chrono::hours(24);
  run_full_backup(target, repository, CompressionSettings{});
  auto restored = restore_backup(target, repository, RestoreRequest{"latest", "kept_target", "", true});
  ASSERT_FALSE(restored.previous_database.empty());
  auto engine = create_engine("mariadb");
  auto decision_for = [&](const std::vector<RetentionDecision>& decisions) {
    for (const auto& d : decisions)
      if (d.id == restored.previous_database) return d;
    ADD_FAILURE() << "no decision for " << restored.previous_database;
    return RetentionDecision{};
  };
  auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(decision_for(prune_target(target, repository, now, false)).keep);
  EXPECT_TRUE(engine->database_exists(target, restored.previous_database));
  auto later = now + std::chrono::hours(25);
  auto planned = decision_for(prune_target(target, repository, later, true));
  EXPECT_FALSE(planned.keep);
  EXPECT_TRUE(engine->database_exists(target, restored.previous_database)) << "--dry-run dropped it";
  prune_target(target, repository, later, false);
  EXPECT_FALSE(engine->database_exists(target, restored.previous_database));
  EXPECT_TRUE(replaced_databases(repository, target).empty());
}

}  // namespace
}  // namespace dbkeeper
