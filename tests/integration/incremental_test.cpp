// Incremental backups against the real MariaDB server: a chain of a full
// backup and incrementals restores each database exactly as it was at each
// incremental, also with writes running while one is taken; verification
// restores the chain; a purged binary log, a damaged link or a missing full
// backup are each handled without losing anything.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <thread>

#include "backup/backup_job.h"
#include "backup/prune_job.h"
#include "backup/restore_job.h"
#include "backup/verify_job.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using namespace testing;

class IncrementalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto admin = servers().mariadb.admin();
    for (const char* database : {"inc_a", "inc_b", "inc_a_copy", "inc_b_copy", "inc_copy_1", "inc_refused"})
      admin.execute(std::string("DROP DATABASE IF EXISTS ") + database);
    for (const char* database : {"inc_a", "inc_b"}) {
      admin.execute(std::string("CREATE DATABASE ") + database);
      admin.execute(std::string("CREATE TABLE ") + database +
                    ".t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB");
      admin.execute(std::string("INSERT INTO ") + database + ".t (v) VALUES ('one'), ('two'), ('three')");
    }
  }

  void sql(const std::string& statement) { servers().mariadb.admin().execute(statement); }
  // DDL is logged as a statement and replayed only for its default database,
  // as migration tools run it (connected to the application's database).
  void ddl(const std::string& database, const std::string& statement) {
    auto options = servers().mariadb.user_options();
    options.database = database;
    MysqlConnection::connect(options).execute(statement);
  }

  // Backup ids are one per second.
  void next_id() { std::this_thread::sleep_for(1100ms); }

  TempDir m_dir;
  Repository m_repository{m_dir.path()};
  Target m_target = mariadb_target({"inc_a", "inc_b"});
};

TEST_F(IncrementalTest, a_chain_restores_each_database_as_it_was_at_each_incremental) {
  auto full = run_full_backup(m_target, m_repository, CompressionSettings{});
  sql("INSERT INTO inc_a.t (v) VALUES ('four')");
  sql("UPDATE inc_a.t SET v = 'TWO' WHERE id = 2");
  sql("DELETE FROM inc_b.t WHERE id = 1");
  auto a_at_first = mariadb_content("inc_a");
  auto b_at_first = mariadb_content("inc_b");
  next_id();
  auto first = run_incremental_backup(m_target, m_repository, CompressionSettings{});
  EXPECT_EQ(first.manifest.type, "incremental");
  EXPECT_EQ(first.manifest.parent, full.manifest.id);
  ASSERT_FALSE(first.manifest.artifacts.empty());
  for (const auto& artifact : first.manifest.artifacts) EXPECT_EQ(artifact.format, "binlog");
  EXPECT_EQ(first.manifest.tables.at("inc_a").at(0).rows, 4u);
  EXPECT_EQ(first.manifest.tables.at("inc_b").at(0).rows, 2u);

  // Schema changes travel too.
  ddl("inc_a", "ALTER TABLE t ADD COLUMN note VARCHAR(20) DEFAULT 'n'");
  ddl("inc_a", "CREATE TABLE added (k INT PRIMARY KEY)");
  sql("INSERT INTO inc_a.added VALUES (1), (2)");
  sql("INSERT INTO inc_b.t (v) VALUES ('later')");
  next_id();
  auto second = run_incremental_backup(m_target, m_repository, CompressionSettings{});
  EXPECT_EQ(second.manifest.parent, first.manifest.id);
  sql("INSERT INTO inc_a.t (v) VALUES ('after every backup')");

  auto latest = restore_backup(m_target, m_repository, RestoreRequest{"latest", "inc_a_copy", "inc_a", false});
  EXPECT_EQ(latest.backup_id, second.manifest.id);
  EXPECT_EQ(latest.incrementals, 2u);
  sql("DELETE FROM inc_a.t WHERE v = 'after every backup'");
  EXPECT_EQ(mariadb_content("inc_a_copy"), mariadb_content("inc_a"));
  EXPECT_EQ(mariadb_content("inc_a_copy").size(), 2u);

  restore_backup(m_target, m_repository, RestoreRequest{first.manifest.id, "inc_b_copy", "inc_b", false});
  EXPECT_EQ(mariadb_content("inc_b_copy"), b_at_first);
  restore_backup(m_target, m_repository, RestoreRequest{first.manifest.id, "inc_copy_1", "inc_a", false});
  EXPECT_EQ(mariadb_content("inc_copy_1"), a_at_first);

  auto verified = verify_backup(m_target, m_repository, "latest", true);
  EXPECT_TRUE(verified.passed) << verified.reason;
  EXPECT_TRUE(create_engine("mariadb")->databases_with_prefix(m_target, "dbkeeper_verify_").empty());
}

TEST_F(IncrementalTest, writes_during_the_backup_land_on_one_side_of_its_snapshot) {
  create_mariadb_bulk("inc_big", 100000);  // keeps the snapshot open a while
  Target target = mariadb_target({"inc_a", "inc_big"});
  run_full_backup(target, m_repository, CompressionSettings{});
  next_id();
  std::atomic<bool> writing = true;
  std::string writer_error;
  std::thread writer([&] {
    try {
      auto options = servers().mariadb.user_options();
      options.database = "inc_a";
      auto connection = MysqlConnection::connect(options);
      for (int i = 0; writing; ++i) {
        connection.execute("INSERT INTO t (v) VALUES ('concurrent')");
        if (i % 3 == 0) connection.execute("DELETE FROM t WHERE id = (SELECT MIN(id) FROM (SELECT id FROM t) AS x)");
        std::this_thread::sleep_for(2ms);
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
  });
  std::optional<BackupReport> incremental;
  try {
    incremental = run_incremental_backup(target, m_repository, CompressionSettings{});
  } catch (...) {
    writing = false;
    writer.join();
    throw;
  }
  writing = false;
  writer.join();
  ASSERT_EQ(writer_error, "");
  // The row counts were taken in the snapshot the logs are replayed up to:
  // a restore of the chain must arrive at exactly them.
  auto verified = verify_backup(target, m_repository, incremental->manifest.id, true);
  EXPECT_TRUE(verified.passed) << verified.reason;
  sql("DROP DATABASE inc_big");
}

// A server without gtid_strict_mode logs a GTID that goes back when a
// session sets it (as a manual mariadb-binlog | mariadb replay does); the
// replay follows positions and must not stop there.
TEST_F(IncrementalTest, a_gtid_that_goes_back_in_the_binary_log_does_not_stop_the_replay) {
  run_full_backup(m_target, m_repository, CompressionSettings{});
  auto admin = servers().mariadb.admin();
  admin.execute("INSERT INTO inc_a.t (v) VALUES ('ordinary')");
  admin.execute("SET SESSION gtid_seq_no = 1");
  admin.execute("INSERT INTO inc_a.t (v) VALUES ('replayed by hand with its old gtid')");
  admin.execute("INSERT INTO inc_a.t (v) VALUES ('after it')");
  next_id();
  run_incremental_backup(m_target, m_repository, CompressionSettings{});
  restore_backup(m_target, m_repository, RestoreRequest{"latest", "inc_a_copy", "inc_a", false});
  EXPECT_EQ(mariadb_content("inc_a_copy"), mariadb_content("inc_a"));
}

TEST_F(IncrementalTest, without_a_full_backup_a_full_one_is_taken) {
  auto report = run_incremental_backup(m_target, m_repository, CompressionSettings{});
  EXPECT_EQ(report.manifest.type, "full");
  EXPECT_EQ(m_repository.read_state(m_target.name).backups.at("full").success, 1u);
}

TEST_F(IncrementalTest, a_purged_binary_log_fails_it_plainly_and_keeps_the_older_backups) {
  run_full_backup(m_target, m_repository, CompressionSettings{});
  sql("INSERT INTO inc_a.t (v) VALUES ('lost with the purged log')");
  auto admin = servers().mariadb.admin();
  admin.execute("FLUSH BINARY LOGS");
  auto active = admin.query("SHOW MASTER STATUS").rows[0][0].value();
  ASSERT_TRUE(eventually(
      [&] {
        admin.execute("PURGE BINARY LOGS TO '" + active + "'");
        return admin.query("SHOW BINARY LOGS").rows.front()[0].value_or("") == active;
      },
      20s));
  next_id();
  try {
    run_incremental_backup(m_target, m_repository, CompressionSettings{});
    FAIL() << "an incremental across a purged binary log succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    EXPECT_NE(std::string(e.what()).find("is no longer on the server (purged); take a full backup"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(m_repository.list(m_target.name).size(), 1u);
  EXPECT_EQ(m_repository.read_state(m_target.name).backups.at("incremental").failure, 1u);
  EXPECT_TRUE(verify_backup(m_target, m_repository, "latest", false).passed);
}

TEST_F(IncrementalTest, a_damaged_link_fails_verification_and_refuses_the_restore) {
  run_full_backup(m_target, m_repository, CompressionSettings{});
  sql("INSERT INTO inc_a.t (v) VALUES ('x')");
  next_id();
  auto first = run_incremental_backup(m_target, m_repository, CompressionSettings{});
  sql("INSERT INTO inc_a.t (v) VALUES ('y')");
  next_id();
  auto second = run_incremental_backup(m_target, m_repository, CompressionSettings{});
  {
    std::fstream file(first.directory / first.manifest.artifacts.front().name,
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(30);
    file.put('\x5a');
  }
  auto report = verify_backup(m_target, m_repository, second.manifest.id, false);
  EXPECT_FALSE(report.passed);
  EXPECT_NE(report.reason.find("backup " + first.manifest.id + " (which it continues from)"), std::string::npos)
      << report.reason;
  EXPECT_THROW(restore_backup(m_target, m_repository, RestoreRequest{"latest", "inc_refused", "inc_a", false}), Error);
  EXPECT_TRUE(servers().mariadb.admin().query("SHOW DATABASES LIKE 'inc_refused'").empty());
}

TEST_F(IncrementalTest, prune_deletes_the_incrementals_of_a_deleted_full_backup) {
  auto old_full = run_full_backup(m_target, m_repository, CompressionSettings{});
  next_id();
  auto old_incremental = run_incremental_backup(m_target, m_repository, CompressionSettings{});
  next_id();
  auto new_full = run_full_backup(m_target, m_repository, CompressionSettings{});
  next_id();
  auto new_incremental = run_incremental_backup(m_target, m_repository, CompressionSettings{});
  EXPECT_EQ(new_incremental.manifest.parent, new_full.manifest.id);
  Target target = m_target;
  target.retention.full_count = 1;
  prune_target(target, m_repository, std::chrono::system_clock::now(), false);
  std::vector<std::string> left;
  for (const auto& entry : m_repository.list(target.name)) left.push_back(entry.manifest.id);
  EXPECT_EQ(left, (std::vector<std::string>{new_full.manifest.id, new_incremental.manifest.id}));
}

TEST_F(IncrementalTest, the_cli_takes_lists_and_restores_an_incremental) {
  auto password = m_dir.path() / "password";
  std::ofstream(password) << k_test_password << "\n";
  ::chmod(password.c_str(), 0600);
  auto config = (m_dir.path() / "dbkeeper.toml").string();
  std::ofstream(config) << "[agent]\nrepository = \"" << (m_dir.path() / "cli-repository").string() << "\"\n"
                        << "[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nport = " << servers().mariadb.port()
                        << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << password.string()
                        << "\"\ndatabases = [\"inc_a\"]\n";
  auto full = run_dbkeeper({"backup", "shop", "--type", "full", "--config", config});
  ASSERT_EQ(full.status.code, 0) << full.stderr_text;
  sql("INSERT INTO inc_a.t (v) VALUES ('from the cli')");
  next_id();
  auto incremental = run_dbkeeper({"backup", "shop", "--type", "incremental", "--config", config});
  ASSERT_EQ(incremental.status.code, 0) << incremental.stderr_text;
  EXPECT_NE(incremental.stdout_text.find("incremental backup "), std::string::npos) << incremental.stdout_text;
  EXPECT_NE(incremental.stdout_text.find(" of binary log, "), std::string::npos) << incremental.stdout_text;

  auto listed = run_dbkeeper({"list", "--json", "--config", config});
  auto entries = nlohmann::json::parse(listed.stdout_text);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1]["type"], "incremental");
  EXPECT_EQ(entries[1]["parent"], entries[0]["id"]);
  auto verified = run_dbkeeper({"verify", "shop", "--restore", "--config", config});
  EXPECT_EQ(verified.status.code, 0) << verified.stderr_text;
  EXPECT_NE(verified.stdout_text.find("verified with its chain (a full backup and 1 incremental(s)) by a restore"),
            std::string::npos)
      << verified.stdout_text;

  auto restored = run_dbkeeper({"restore", "shop", "--backup", "latest", "--to-db", "inc_a_copy", "--config", config});
  EXPECT_EQ(restored.status.code, 0) << restored.stderr_text;
  EXPECT_NE(restored.stdout_text.find("through 1 incremental backup(s)"), std::string::npos) << restored.stdout_text;
  EXPECT_EQ(mariadb_content("inc_a_copy"), mariadb_content("inc_a"));
}

TEST_F(IncrementalTest, encrypted_incrementals_restore_with_the_key) {
  Target target = m_target;
  target.backup.encryption_key = Secret("an encryption key for incremental tests, long enough");
  run_full_backup(target, m_repository, CompressionSettings{});
  sql("INSERT INTO inc_b.t (v) VALUES ('sealed change')");
  next_id();
  auto incremental = run_incremental_backup(target, m_repository, CompressionSettings{});
  for (const auto& artifact : incremental.manifest.artifacts) EXPECT_EQ(artifact.encryption, "aes-256-gcm");
  restore_backup(target, m_repository, RestoreRequest{"latest", "inc_b_copy", "inc_b", false});
  EXPECT_EQ(mariadb_content("inc_b_copy"), mariadb_content("inc_b"));
}

}  // namespace
}  // namespace dbkeeper
