// The backup metrics come from the repository: right after an agent start,
// and for backups the CLI took while the agent ran.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "backup/backup_job.h"
#include "backup/verify_job.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/http_get.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using namespace testing;

class BackupMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    create_mariadb_fixture("metrics_fixture");
    auto password = m_dir.path() / "password";
    std::ofstream(password) << k_test_password << "\n";
    ::chmod(password.c_str(), 0600);
    m_port = free_loopback_port();
    m_config = m_dir.path() / "dbkeeper.toml";
    std::ofstream(m_config) << "[agent]\nlisten_address = \"127.0.0.1:" << m_port << "\"\nrepository = \""
                            << (m_dir.path() / "repository").string() << "\"\n"
                            << "[collectors.backup]\ninterval = \"1s\"\ntimeout = \"1s\"\n"
                            << "[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nport = " << servers().mariadb.port()
                            << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << password.string()
                            << "\"\ndatabases = [\"metrics_fixture\"]\n";
  }

  std::string metrics() { return http_get(m_port, "/metrics").body; }
  std::optional<double> value(const std::string& series) { return sample_value(metrics(), series); }

  TempDir m_dir;
  std::filesystem::path m_config;
  unsigned m_port = 0;
};

TEST_F(BackupMetricsTest, reports_backups_and_verifications_from_the_repository) {
  Target target = mariadb_target({"metrics_fixture"});
  Repository repository(m_dir.path() / "repository");
  auto report = run_full_backup(target, repository, CompressionSettings{});
  auto verification = verify_backup(target, repository, "latest", true);
  ASSERT_TRUE(verification.passed) << verification.reason;
  double finished = std::chrono::duration<double>(report.manifest.finished_at.time_since_epoch()).count();

  for (int start = 0; start < 2; ++start) {  // the second start proves nothing lives only in memory
    AgentProcess agent(m_config, m_port);
    ASSERT_TRUE(
        eventually([&] { return value(R"(dbkeeper_collector_success{collector="backup",target="shop"})") == 1; }, 10s))
        << agent.log();
    auto body = metrics();
    EXPECT_NEAR(*sample_value(body, R"(dbkeeper_backup_last_success_timestamp_seconds{target="shop",type="full"})"),
                finished, 0.001);
    EXPECT_NEAR(*sample_value(body, R"(dbkeeper_backup_last_duration_seconds{target="shop",type="full"})"),
                report.manifest.duration_seconds(), 0.01);
    EXPECT_EQ(sample_value(body, R"(dbkeeper_backup_last_size_bytes{target="shop",type="full"})"),
              static_cast<double>(report.manifest.stored_bytes()));
    EXPECT_EQ(sample_value(body, R"(dbkeeper_backup_last_raw_size_bytes{target="shop",type="full"})"),
              static_cast<double>(report.manifest.raw_bytes()));
    EXPECT_EQ(sample_value(body, R"(dbkeeper_backup_runs_total{target="shop",type="full",result="success"})"), 1);
    EXPECT_EQ(sample_value(body, R"(dbkeeper_backup_runs_total{target="shop",type="full",result="failure"})"), 0);
    EXPECT_EQ(sample_value(body, R"(dbkeeper_backup_in_progress{target="shop",type="full"})"), 0);
    EXPECT_EQ(sample_value(body, R"(dbkeeper_repository_backups{target="shop",type="full"})"), 1);
    EXPECT_GE(*sample_value(body, R"(dbkeeper_repository_size_bytes{target="shop"})"),
              static_cast<double>(report.manifest.stored_bytes()));
    EXPECT_EQ(sample_value(body, R"(dbkeeper_verify_last_result{target="shop"})"), 1);
    EXPECT_EQ(sample_value(body, R"(dbkeeper_verify_runs_total{target="shop",result="success"})"), 1);
    EXPECT_EQ(sample_value(body, R"(dbkeeper_verify_runs_total{target="shop",result="could_not_run"})"), 0);
    EXPECT_TRUE(sample_value(body, R"(dbkeeper_verify_last_success_timestamp_seconds{target="shop"})").has_value());
    // The agent ran `dbkeeper check` at start: the documented grants pass it.
    ASSERT_TRUE(
        eventually([&] { return value(R"(dbkeeper_collector_success{collector="check",target="shop"})") == 1; }, 10s))
        << agent.log();
    auto checked = metrics();
    for (const char* check : {"connect", "privileges", "binlog", "stored-programs", "tools", "repository", "space"})
      EXPECT_EQ(sample_value(checked, std::string(R"(dbkeeper_check_success{target="shop",check=")") + check + R"("})"),
                1)
          << check << "\n"
          << agent.log();
    EXPECT_NEAR(*sample_value(body, R"(dbkeeper_recovery_window_end_timestamp_seconds{target="shop"})"), finished,
                0.001);
  }
}

TEST_F(BackupMetricsTest, counts_backups_the_cli_takes_while_the_agent_runs) {
  AgentProcess agent(m_config, m_port);
  ASSERT_TRUE(
      eventually([&] { return value(R"(dbkeeper_collector_success{collector="backup",target="shop"})") == 1; }, 10s));
  EXPECT_EQ(value(R"(dbkeeper_repository_backups{target="shop",type="full"})"), 0);
  auto result = run_dbkeeper({"backup", "shop", "--type", "full", "--config", m_config.string()});
  ASSERT_EQ(result.status.code, 0) << result.stderr_text;
  EXPECT_TRUE(eventually([&] { return value(R"(dbkeeper_repository_backups{target="shop",type="full"})") == 1; }, 5s));
  auto failing = m_dir.path() / "failing.toml";
  {
    std::ifstream in(m_config);
    std::stringstream text;
    text << in.rdbuf();
    std::string config = text.str();
    config.replace(config.find("metrics_fixture"), 15, "not_a_database");
    std::ofstream(failing) << config;
  }
  result = run_dbkeeper({"backup", "shop", "--type", "full", "--config", failing.string()});
  EXPECT_EQ(result.status.code, 1);
  EXPECT_TRUE(eventually(
      [&] { return value(R"(dbkeeper_backup_runs_total{target="shop",type="full",result="failure"})") == 1; }, 5s));
  // mariadb-dump refused the missing database: a failed tool.
  EXPECT_EQ(value(R"(dbkeeper_backup_failures_total{target="shop",type="full",reason="process"})"), 1);
  EXPECT_EQ(value(R"(dbkeeper_repository_backups{target="shop",type="full"})"), 1);
}

}  // namespace
}  // namespace dbkeeper
