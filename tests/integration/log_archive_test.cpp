// Continuous binlog archiving and point-in-time restore against the real
// MariaDB server (binlog_format = ROW): what is archived, that an idle pass
// stores nothing, that a restore lands exactly at the asked moment and
// replays only the restored database, that purged logs leave a gap no
// restore crosses, and the metrics a running agent derives from it.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <thread>

#include "backup/backup_job.h"
#include "backup/log_archive_job.h"
#include "backup/point_in_time.h"
#include "backup/prune_job.h"
#include "backup/restore_job.h"
#include "backup/verify_job.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/http_get.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using namespace testing;

// Binlog events carry whole seconds: a moment strictly between two writes
// needs a second boundary on each side.
TimePoint moment_between_writes() {
  auto now = std::chrono::system_clock::now();
  auto next_second = std::chrono::time_point_cast<std::chrono::seconds>(now) + 1s;
  std::this_thread::sleep_until(next_second + 100ms);
  auto moment = std::chrono::system_clock::now();
  std::this_thread::sleep_until(next_second + 1s + 100ms);
  return moment;
}

// Replay stops before the second of `until`: a pass that should cover a
// write must start in a later second.
void wait_for_the_next_second() {
  auto next = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) + 1s;
  std::this_thread::sleep_until(next + 50ms);
}

std::vector<std::string> values(const std::string& database) {
  auto result = servers().mariadb.admin().query("SELECT v FROM `" + database + "`.t ORDER BY id");
  std::vector<std::string> out;
  for (const auto& row : result.rows) out.push_back(row[0].value_or("NULL"));
  return out;
}

class LogArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto admin = servers().mariadb.admin();
    for (const char* database : {"pitr", "pitr_neighbour", "pitr_at_moment", "pitr_latest"})
      admin.execute(std::string("DROP DATABASE IF EXISTS ") + database);
    admin.execute("CREATE DATABASE pitr");
    admin.execute("CREATE TABLE pitr.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB");
    admin.execute("INSERT INTO pitr.t (v) VALUES ('in the full backup')");
    admin.execute("CREATE DATABASE pitr_neighbour");
    admin.execute("CREATE TABLE pitr_neighbour.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))");
  }

  // Writes as an application does: connected to its database.
  void write(const std::string& statement) {
    auto options = servers().mariadb.user_options();
    options.database = "pitr";
    MysqlConnection::connect(options).execute(statement);
  }

  TempDir m_dir;
  Repository m_repository{m_dir.path()};
  Target m_target = mariadb_target({"pitr"});
};

TEST_F(LogArchiveTest, restores_to_the_second_asked_for_with_only_the_restored_database_replayed) {
  auto full = run_full_backup(m_target, m_repository, CompressionSettings{});
  ASSERT_FALSE(full.manifest.log_position.binlog_file.empty());

  write("INSERT INTO t (v) VALUES ('before the moment')");
  servers().mariadb.admin().execute("INSERT INTO pitr_neighbour.t (v) VALUES ('not ours')");
  auto first = run_log_archive(m_target, m_repository, CompressionSettings{});
  EXPECT_TRUE(first.rotated);
  ASSERT_FALSE(first.stored.empty());
  EXPECT_EQ(first.stored.front().name, full.manifest.log_position.binlog_file);

  auto moment = moment_between_writes();
  write("UPDATE t SET v = 'changed after the moment' WHERE id = 1");
  write("DELETE FROM t WHERE v = 'before the moment'");
  wait_for_the_next_second();
  auto second = run_log_archive(m_target, m_repository, CompressionSettings{});
  ASSERT_EQ(second.stored.size(), 1u);
  EXPECT_EQ(second.stored[0].previous, first.stored.back().name);

  auto report = restore_backup(m_target, m_repository, RestoreRequest{"latest", "pitr_at_moment", "", false, moment});
  EXPECT_EQ(report.backup_id, full.manifest.id);
  EXPECT_GE(report.log_segments, 1u);
  EXPECT_EQ(values("pitr_at_moment"), (std::vector<std::string>{"in the full backup", "before the moment"}));

  auto latest = restore_backup(m_target, m_repository,
                               RestoreRequest{"latest", "pitr_latest", "", false, second.progress.complete_until});
  EXPECT_EQ(values("pitr_latest"), values("pitr"));
  EXPECT_EQ(values("pitr_latest"), std::vector<std::string>{"changed after the moment"});
  // The neighbour's row was logged between the same positions, and stays once.
  EXPECT_EQ(values("pitr_neighbour"), std::vector<std::string>{"not ours"});

  // A point the archive does not reach yet is refused; nothing is created.
  try {
    restore_backup(m_target, m_repository,
                   RestoreRequest{"latest", "pitr_future", "", false, std::chrono::system_clock::now() + 1h});
    FAIL() << "a restore past the archive succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_NE(std::string(e.what()).find("later than the log archive reaches"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(servers().mariadb.admin().query("SHOW DATABASES LIKE 'pitr_future'").empty());

  auto state = m_repository.read_state(m_target.name);
  EXPECT_EQ(state.backups["log"].success, 2u);
}

TEST_F(LogArchiveTest, a_moment_inside_logs_archived_by_one_pass_is_reached) {
  run_full_backup(m_target, m_repository, CompressionSettings{});
  auto admin = servers().mariadb.admin();
  write("INSERT INTO t (v) VALUES ('first log')");
  admin.execute("FLUSH BINARY LOGS");
  write("INSERT INTO t (v) VALUES ('second log, before the moment')");
  auto moment = moment_between_writes();
  write("INSERT INTO t (v) VALUES ('second log, after the moment')");
  admin.execute("FLUSH BINARY LOGS");
  write("INSERT INTO t (v) VALUES ('third log')");
  wait_for_the_next_second();
  auto pass = run_log_archive(m_target, m_repository, CompressionSettings{});
  ASSERT_GE(pass.stored.size(), 3u);

  auto report = restore_backup(m_target, m_repository, RestoreRequest{"latest", "pitr_at_moment", "", false, moment});
  EXPECT_EQ(values("pitr_at_moment"),
            (std::vector<std::string>{"in the full backup", "first log", "second log, before the moment"}));
  EXPECT_LT(report.log_segments, pass.stored.size()) << "the logs opened after the moment are not needed";
  restore_backup(m_target, m_repository,
                 RestoreRequest{"latest", "pitr_latest", "", false, pass.progress.complete_until});
  EXPECT_EQ(values("pitr_latest"), values("pitr"));
}

TEST_F(LogArchiveTest, replays_as_new_transactions_under_gtid_strict_mode) {
  auto admin = servers().mariadb.admin();
  admin.execute("SET GLOBAL gtid_strict_mode = 1");
  struct Restore {
    ~Restore() { servers().mariadb.admin().execute("SET GLOBAL gtid_strict_mode = 0"); }
  } restore_strict_mode;
  run_full_backup(m_target, m_repository, CompressionSettings{});
  write("INSERT INTO t (v) VALUES ('replayed in strict mode')");
  wait_for_the_next_second();
  auto pass = run_log_archive(m_target, m_repository, CompressionSettings{});
  auto before = admin.query("SELECT @@gtid_binlog_pos").scalar().value_or("");
  restore_backup(m_target, m_repository,
                 RestoreRequest{"latest", "pitr_latest", "", false, pass.progress.complete_until});
  EXPECT_EQ(values("pitr_latest"), values("pitr"));
  // The replay was logged as this server's own new transactions.
  EXPECT_NE(admin.query("SELECT @@gtid_binlog_pos").scalar().value_or(""), before);
}

// Each database is dumped in its own snapshot: what was written to the
// second while the first was being dumped is in the second's dump, and must
// not be replayed into it again.
TEST_F(LogArchiveTest, each_database_of_a_backup_replays_from_its_own_snapshot) {
  create_mariadb_bulk("pitr_big", 200000);
  servers().mariadb.admin().execute("DROP DATABASE IF EXISTS pitr_multi_copy");
  Target target = mariadb_target({"pitr_big", "pitr"});
  std::atomic<bool> writing = true;
  std::thread writer([&] {
    auto options = servers().mariadb.user_options();
    options.database = "pitr";
    auto connection = MysqlConnection::connect(options);
    while (writing) {
      connection.execute("INSERT INTO t (v) VALUES ('during the backup')");
      std::this_thread::sleep_for(5ms);
    }
  });
  BackupReport full;
  try {
    full = run_full_backup(target, m_repository, CompressionSettings{});
  } catch (...) {
    writing = false;
    writer.join();
    throw;
  }
  writing = false;
  writer.join();
  ASSERT_EQ(full.manifest.artifacts.size(), 2u);
  const auto& big = full.manifest.artifacts[0].log_position;
  const auto& own = full.manifest.artifacts[1].log_position;
  EXPECT_EQ(full.manifest.log_position.binlog_position, big.binlog_position);
  // The writer was busy while pitr_big was dumped: pitr's snapshot is later.
  ASSERT_TRUE(own.binlog_file > big.binlog_file ||
              (own.binlog_file == big.binlog_file && own.binlog_position > big.binlog_position));
  write("INSERT INTO t (v) VALUES ('after the backup')");
  wait_for_the_next_second();
  auto pass = run_log_archive(target, m_repository, CompressionSettings{});
  restore_backup(target, m_repository,
                 RestoreRequest{"latest", "pitr_multi_copy", "pitr", false, pass.progress.complete_until});
  EXPECT_EQ(values("pitr_multi_copy"), values("pitr"));
  EXPECT_EQ(values("pitr_multi_copy").back(), "after the backup");
}

TEST_F(LogArchiveTest, verification_checks_the_archived_logs_that_follow_the_backup) {
  run_full_backup(m_target, m_repository, CompressionSettings{});
  write("INSERT INTO t (v) VALUES ('archived')");
  wait_for_the_next_second();  // a restore reaches only seconds after the backup's
  auto pass = run_log_archive(m_target, m_repository, CompressionSettings{});
  ASSERT_FALSE(pass.stored.empty());
  auto report = verify_backup(m_target, m_repository, "latest", false);
  EXPECT_TRUE(report.passed) << report.reason;
  EXPECT_EQ(report.log_segments_checked, pass.stored.size());

  LogArchive archive(m_repository, m_target.name);
  {
    std::fstream file(archive.directory() / pass.stored.front().artifact.name,
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(20);
    file.put('\x55');
  }
  report = verify_backup(m_target, m_repository, "latest", false);
  EXPECT_FALSE(report.passed);
  EXPECT_NE(report.reason.find("archived binary log '" + pass.stored.front().name + "'"), std::string::npos)
      << report.reason;
  // A restore that would need the damaged log refuses before it creates anything.
  try {
    restore_backup(m_target, m_repository,
                   RestoreRequest{"latest", "pitr_latest", "", false, pass.progress.complete_until});
    FAIL() << "a restore through a damaged log succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity) << e.what();
  }
  EXPECT_TRUE(servers().mariadb.admin().query("SHOW DATABASES LIKE 'pitr_latest'").empty());
}

TEST_F(LogArchiveTest, an_idle_pass_closes_no_log_and_still_advances_the_archive) {
  run_full_backup(m_target, m_repository, CompressionSettings{});
  auto first = run_log_archive(m_target, m_repository, CompressionSettings{});
  auto files_before = servers().mariadb.admin().query("SHOW BINARY LOGS").rows.size();
  std::this_thread::sleep_for(50ms);
  auto idle = run_log_archive(m_target, m_repository, CompressionSettings{});
  EXPECT_FALSE(idle.rotated);
  EXPECT_TRUE(idle.stored.empty());
  EXPECT_GT(idle.progress.complete_until, first.progress.complete_until);
  EXPECT_EQ(servers().mariadb.admin().query("SHOW BINARY LOGS").rows.size(), files_before);
  EXPECT_EQ(LogArchive(m_repository, m_target.name).progress()->complete_until, idle.progress.complete_until);
}

TEST_F(LogArchiveTest, purged_logs_leave_a_gap_that_no_restore_crosses) {
  auto full = run_full_backup(m_target, m_repository, CompressionSettings{});
  auto before_gap = run_log_archive(m_target, m_repository, CompressionSettings{});
  write("INSERT INTO t (v) VALUES ('lost with the purged log')");
  auto admin = servers().mariadb.admin();
  admin.execute("FLUSH BINARY LOGS");
  auto active = admin.query("SHOW MASTER STATUS").rows[0][0].value();
  // The server keeps a binlog until InnoDB's checkpoint has passed it
  // (PURGE skips it with a warning meanwhile): purge until it is gone.
  ASSERT_TRUE(eventually(
      [&] {
        admin.execute("PURGE BINARY LOGS TO '" + active + "'");
        return admin.query("SHOW BINARY LOGS").rows.front()[0].value_or("") == active;
      },
      20s));
  write("INSERT INTO t (v) VALUES ('after the gap')");

  auto after_gap = run_log_archive(m_target, m_repository, CompressionSettings{});
  ASSERT_FALSE(after_gap.stored.empty());
  EXPECT_EQ(after_gap.stored.front().previous, "") << "a segment after a gap must start a new chain";

  LogArchive archive(m_repository, m_target.name);
  auto window = recovery_window(m_repository.list(m_target.name), archive.segments(), archive.progress());
  EXPECT_EQ(*window.end, before_gap.progress.complete_until);
  EXPECT_THROW(restore_backup(m_target, m_repository,
                              RestoreRequest{"latest", "pitr_latest", "", false, after_gap.progress.complete_until}),
               Error);
  // A new full backup starts a chain the archive extends again.
  write("INSERT INTO t (v) VALUES ('in the second full')");
  auto second_full = run_full_backup(m_target, m_repository, CompressionSettings{});
  write("INSERT INTO t (v) VALUES ('after the second full')");
  wait_for_the_next_second();
  auto resumed = run_log_archive(m_target, m_repository, CompressionSettings{});
  auto report = restore_backup(m_target, m_repository,
                               RestoreRequest{"latest", "pitr_latest", "", false, resumed.progress.complete_until});
  EXPECT_EQ(report.backup_id, second_full.manifest.id);
  EXPECT_EQ(values("pitr_latest"), values("pitr"));
  (void)full;
}

TEST_F(LogArchiveTest, a_reset_of_the_binlog_numbering_fails_every_pass_loudly) {
  run_full_backup(m_target, m_repository, CompressionSettings{});
  auto admin = servers().mariadb.admin();
  // Push the numbering past what RESET MASTER restarts from.
  for (int i = 0; i < 3; ++i) admin.execute("FLUSH BINARY LOGS");
  write("INSERT INTO t (v) VALUES ('archived before the reset')");
  run_log_archive(m_target, m_repository, CompressionSettings{});
  admin.execute("RESET MASTER");
  write("INSERT INTO t (v) VALUES ('after the reset')");
  for (int pass = 0; pass < 2; ++pass) {
    try {
      run_log_archive(m_target, m_repository, CompressionSettings{});
      FAIL() << "a pass after RESET MASTER succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::integrity);
      EXPECT_NE(std::string(e.what()).find("went back"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(m_repository.read_state(m_target.name).backups["log"].failure, 2u);
}

TEST_F(LogArchiveTest, prune_removes_logs_only_older_than_the_oldest_kept_full) {
  m_target.retention.full_count = 1;
  run_full_backup(m_target, m_repository, CompressionSettings{});
  write("INSERT INTO t (v) VALUES ('one')");
  run_log_archive(m_target, m_repository, CompressionSettings{});
  std::this_thread::sleep_for(1100ms);  // backup ids are one per second
  auto kept = run_full_backup(m_target, m_repository, CompressionSettings{});
  write("INSERT INTO t (v) VALUES ('two')");
  wait_for_the_next_second();
  run_log_archive(m_target, m_repository, CompressionSettings{});

  LogArchive archive(m_repository, m_target.name);
  auto before = archive.segments();
  prune_target(m_target, m_repository, std::chrono::system_clock::now(), false);
  auto after = archive.segments();
  ASSERT_FALSE(after.empty());
  EXPECT_LT(after.size(), before.size());
  EXPECT_EQ(after.front().name, kept.manifest.log_position.binlog_file);
  auto report = restore_backup(m_target, m_repository,
                               RestoreRequest{"latest", "pitr_latest", "", false, archive.progress()->complete_until});
  EXPECT_EQ(values("pitr_latest"), values("pitr"));
  (void)report;
}

TEST_F(LogArchiveTest, postgres_targets_say_why_they_have_no_log_archive_and_count_nothing) {
  Target target = postgres_target({"postgres"});
  run_full_backup(target, m_repository, CompressionSettings{});
  auto expect_reason = [](const std::function<void()>& attempt) {
    try {
      attempt();
      FAIL() << "succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config);
      EXPECT_NE(std::string(e.what()).find("need physical base backups"), std::string::npos) << e.what();
    }
  };
  expect_reason([&] { run_log_archive(target, m_repository, CompressionSettings{}); });
  expect_reason([&] {
    restore_backup(target, m_repository,
                   RestoreRequest{"latest", "pitr_pg", "", false, std::chrono::system_clock::now()});
  });
  EXPECT_FALSE(m_repository.read_state(target.name).backups.contains("log"));
  EXPECT_FALSE(std::filesystem::exists(m_repository.target_directory(target.name) / "log"));
}

TEST_F(LogArchiveTest, a_running_agent_archives_continuously_and_exports_the_archive_age) {
  run_full_backup(m_target, m_repository, CompressionSettings{});
  auto password = m_dir.path() / "password";
  std::ofstream(password) << k_test_password << "\n";
  ::chmod(password.c_str(), 0600);
  auto port = free_loopback_port();
  auto config = m_dir.path() / "dbkeeper.toml";
  std::ofstream(config) << "[agent]\nlisten_address = \"127.0.0.1:" << port << "\"\nrepository = \""
                        << m_dir.path().string() << "\"\n[collectors.backup]\ninterval = \"1s\"\ntimeout = \"1s\"\n"
                        << "[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nport = " << servers().mariadb.port()
                        << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << password.string()
                        << "\"\ndatabases = [\"pitr\"]\n[target.schedule]\nlog = \"continuous\"\n"
                        << "[target.backup]\nlog_archive_interval = \"1s\"\n";
  AgentProcess agent(config, port);
  auto value = [&](const std::string& series) { return sample_value(http_get(port, "/metrics").body, series); };
  double started = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  write("INSERT INTO t (v) VALUES ('archived by the agent')");
  ASSERT_TRUE(eventually(
      [&] {
        auto last = value(R"(dbkeeper_log_archive_last_timestamp_seconds{target="shop"})");
        return last && *last > started + 1;
      },
      15s))
      << agent.log();
  auto body = http_get(port, "/metrics").body;
  auto last = *sample_value(body, R"(dbkeeper_log_archive_last_timestamp_seconds{target="shop"})");
  EXPECT_GE(*sample_value(body, R"(dbkeeper_recovery_window_end_timestamp_seconds{target="shop"})"), last - 2);
  EXPECT_GE(*sample_value(body, R"(dbkeeper_repository_backups{target="shop",type="log"})"), 1);
  EXPECT_GE(*sample_value(body, R"(dbkeeper_backup_runs_total{target="shop",type="log",result="success"})"), 2);
  EXPECT_EQ(sample_value(body, R"(dbkeeper_backup_runs_total{target="shop",type="log",result="failure"})"), 0);
  EXPECT_TRUE(sample_value(body, R"(dbkeeper_backup_last_success_timestamp_seconds{target="shop",type="log"})"));

  auto listed = run_dbkeeper({"list", "--config", config.string()});
  EXPECT_EQ(listed.status.code, 0) << listed.stderr_text;
  EXPECT_NE(listed.stdout_text.find(" log "), std::string::npos) << listed.stdout_text;
  EXPECT_NE(listed.stdout_text.find("shop: restorable from "), std::string::npos) << listed.stdout_text;
  EXPECT_NE(listed.stdout_text.find("(any second, with --until)"), std::string::npos) << listed.stdout_text;
}

}  // namespace
}  // namespace dbkeeper
