// Verification restores load into a scratch instance of their own: nothing
// reaches the production server or its binary log, the instance is gone
// afterwards, and with into = "server" the load stays out of the binary log.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "backup/backup_job.h"
#include "backup/engine.h"
#include "backup/engines/mysql_engine.h"
#include "backup/readiness_check.h"
#include "backup/scratch_database.h"
#include "backup/scratch_instance.h"
#include "backup/verify_job.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/production_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace testing;

// Where the production server's binary log stands.
std::string binlog_position() {
  auto row = servers().mariadb.admin().query("SHOW MASTER STATUS").rows.at(0);
  return *row.at(0) + ":" + *row.at(1);
}

std::size_t entries(const std::filesystem::path& directory) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(directory)) ++count;
  return count;
}

class ScratchInstanceTest : public ::testing::Test {
 protected:
  // A PostgreSQL instance runs as 'postgres' when the tests run as root.
  ScratchInstanceTest() { ::chmod(m_instances.path().c_str(), 0711); }

  Target with_instances_here(Target target) {
    target.verify.instance_directory = m_instances.path().string();
    return target;
  }
  TempDir m_repository;
  TempDir m_instances;
};

TEST_F(ScratchInstanceTest, a_mariadb_verification_restore_writes_nothing_to_the_production_binary_log) {
  create_mariadb_fixture("instance_source");
  Target target = with_instances_here(mariadb_target({"instance_source"}));
  Repository repository(m_repository.path());
  run_full_backup(target, repository, CompressionSettings{});
  std::string before = binlog_position();

  auto report = verify_backup(target, repository, "latest", true);

  EXPECT_TRUE(report.passed) << report.reason;
  EXPECT_TRUE(report.restored_into.starts_with("a scratch instance (mariadbd")) << report.restored_into;
  EXPECT_EQ(binlog_position(), before) << "the verification restore reached the production binary log";
  EXPECT_TRUE(create_engine("mariadb")->databases_with_prefix(target, k_scratch_prefix).empty());
  EXPECT_EQ(entries(m_instances.path()), 0u) << "the scratch instance's directory is left behind";
}

TEST_F(ScratchInstanceTest, into_server_keeps_a_mariadb_verification_restore_out_of_the_binary_log) {
  create_mariadb_fixture("instance_source");
  Target target = mariadb_target({"instance_source"});
  target.verify.into = "server";
  Repository repository(m_repository.path());
  run_full_backup(target, repository, CompressionSettings{});
  std::string before = binlog_position();

  auto report = verify_backup(target, repository, "latest", true);

  EXPECT_TRUE(report.passed) << report.reason;
  EXPECT_TRUE(report.restored_into.starts_with("the server, with the binary log off")) << report.restored_into;
  EXPECT_EQ(binlog_position(), before) << "the verification restore reached the production binary log";
}

TEST_F(ScratchInstanceTest, a_postgres_instance_gets_the_roles_so_owners_and_grants_compare) {
  // Objects owned by roles the instance does not have until the backup's
  // globals are loaded into it.
  create_postgres_production_fixture("instance_owned");
  Target target = with_instances_here(postgres_target({"instance_owned"}));
  Repository repository(m_repository.path());
  run_full_backup(target, repository, CompressionSettings{});

  auto report = verify_backup(target, repository, "latest", true);

  EXPECT_TRUE(report.passed) << report.reason;
  EXPECT_TRUE(report.restored_into.starts_with("a scratch instance (postgres")) << report.restored_into;
  EXPECT_TRUE(create_engine("postgres")->databases_with_prefix(target, k_scratch_prefix).empty());
  EXPECT_EQ(entries(m_instances.path()), 0u) << "the scratch instance's directory is left behind";
}

TEST_F(ScratchInstanceTest, an_instance_runs_without_binary_log_on_a_private_socket_and_is_removed_with_its_object) {
  Target production = mariadb_target({});
  auto engine = create_engine("mariadb");
  auto recipe = engine->scratch_server(production);
  std::filesystem::path directory;
  pid_t pid = -1;
  {
    ScratchInstance instance(*engine, *recipe, production, m_instances.path(), m_repository.path() / "scratch");
    directory = instance.directory();
    pid = instance.pid();
    EXPECT_EQ(instance.target().socket, (directory / "mysqld.sock").string());
    EXPECT_TRUE(instance.target().password.empty());
    auto connection = MysqlConnection::connect(mysql_connect_options(instance.target()));
    EXPECT_EQ(connection.query("SELECT @@log_bin").scalar(), "0");
    EXPECT_EQ(connection.query("SELECT @@skip_networking").scalar(), "1");
    // Recorded while it lives, so a killed run's instance can be found.
    EXPECT_EQ(entries(m_repository.path() / "scratch"), 1u);
  }
  EXPECT_FALSE(std::filesystem::exists(directory));
  EXPECT_NE(::kill(pid, 0), 0) << "the scratch server still runs";
  EXPECT_EQ(entries(m_repository.path() / "scratch"), 0u);
}

TEST_F(ScratchInstanceTest, a_record_of_a_killed_run_removes_only_a_directory_holding_its_token) {
  auto records = m_repository.path() / "scratch";
  std::filesystem::create_directories(records);
  // A victim that does not look like an instance, and one that does but
  // holds another token: neither is touched. The third is a leftover.
  TempDir victim(m_instances.path(), "precious-");
  TempDir impostor(m_instances.path(), "dbkeeper-scratch-1-");
  std::ofstream(impostor.path() / "dbkeeper-instance") << "someone-else\n";
  TempDir leftover(m_instances.path(), "dbkeeper-scratch-2-");
  std::ofstream(leftover.path() / "dbkeeper-instance") << "abc123\n";
  auto write = [&](const std::string& name, const std::filesystem::path& directory, const std::string& token) {
    std::ofstream(records / name) << "{\"directory\": \"" << directory.string() << "\", \"token\": \"" << token
                                  << "\", \"pid\": 1}\n";
  };
  write("instance-victim.json", victim.path(), "abc123");
  write("instance-impostor.json", impostor.path(), "abc123");
  write("instance-escape.json", leftover.path() / ".." / victim.path().filename(), "abc123");
  write("instance-leftover.json", leftover.path(), "abc123");
  std::ofstream(records / "instance-garbage.json") << "{\"directory\": [[[[";

  EXPECT_EQ(remove_recorded_scratch_instances(records), 1u);

  EXPECT_TRUE(std::filesystem::exists(victim.path()));
  EXPECT_TRUE(std::filesystem::exists(impostor.path()));
  EXPECT_FALSE(std::filesystem::exists(leftover.path()));
  EXPECT_EQ(::kill(1, 0), 0) << "pid 1 does not run the recorded directory and is never signalled";
  EXPECT_EQ(entries(records), 0u);
}

TEST_F(ScratchInstanceTest, an_instance_directory_its_server_account_cannot_reach_is_named) {
  TempDir closed(m_instances.path(), "closed-");  // 0700, owned by us
  Target production = postgres_target({});
  production.verify.into = "instance";
  auto engine = create_engine("postgres");
  auto recipe = engine->scratch_server(production);
  if (::geteuid() != 0) {
    // Not root: the server runs as this user, who can reach its own directory.
    ScratchInstance instance(*engine, *recipe, production, closed.path(), m_repository.path() / "scratch");
    EXPECT_FALSE(engine->probe(instance.target()).version.empty());
    return;
  }
  try {
    ScratchInstance instance(*engine, *recipe, production, closed.path(), m_repository.path() / "scratch");
    FAIL() << "a directory 'postgres' cannot enter was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::process);
    EXPECT_NE(std::string(e.what()).find("cannot enter " + closed.path().string() + " (mode 0700)"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(std::filesystem::is_empty(closed.path())) << "a failed start left its directory";
}

TEST_F(ScratchInstanceTest, check_names_where_verification_restores_load) {
  Repository repository(m_repository.path());
  for (Target target : {mariadb_target({}), postgres_target({})}) {
    target.schedule.verify = "0 3 * * *";
    auto results = check_target(target, repository);
    auto scratch = std::find_if(results.begin(), results.end(), [](const auto& r) { return r.check == "scratch"; });
    ASSERT_NE(scratch, results.end()) << target.engine;
    EXPECT_TRUE(scratch->ok) << scratch->detail;
    EXPECT_NE(scratch->detail.find("scratch instance ("), std::string::npos) << scratch->detail;
    target.verify.into = "server";
    results = check_target(target, repository);
    scratch = std::find_if(results.begin(), results.end(), [](const auto& r) { return r.check == "scratch"; });
    ASSERT_NE(scratch, results.end());
    EXPECT_NE(scratch->detail.find("on the server"), std::string::npos) << scratch->detail;
  }
}

}  // namespace
}  // namespace dbkeeper
