// Backups that do not finish: the server goes away mid-dump, the agent is
// SIGKILLed or interrupted, a second backup starts while one runs. None of
// them may leave a listed backup, damage an older one, or block the next.
//
// A dump is held in place deterministically: another session locks a table
// the dump must read, so the dump waits on that lock until we act.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "backup/engine.h"
#include "backup/repository.h"
#include "backup/verify_job.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using namespace testing;

struct Engine {
  std::string name;
  bool mariadb;
};
void PrintTo(const Engine& engine, std::ostream* out) {
  *out << engine.name;
}

// Holds a lock on `held.blocker` from its own connection until destroyed.
class TableLock {
 public:
  explicit TableLock(bool mariadb) : m_mariadb(mariadb) {
    if (mariadb) {
      m_mysql.emplace(servers().mariadb.admin());
      m_mysql->execute("LOCK TABLES held.blocker WRITE");
    } else {
      m_postgres.emplace(servers().postgres.admin("held"));
      m_postgres->execute("BEGIN");
      m_postgres->execute("LOCK TABLE blocker IN ACCESS EXCLUSIVE MODE");
    }
  }
  ~TableLock() {
    try {
      if (m_mysql) m_mysql->execute("UNLOCK TABLES");
      if (m_postgres) m_postgres->execute("ROLLBACK");
    } catch (...) {
      // The server may have been stopped under us; the lock died with it.
    }
  }

  // True once a dump session waits on our lock.
  bool dump_is_waiting() const {
    try {
      if (m_mariadb) {
        auto db = servers().mariadb.admin();
        return !db.query("SELECT 1 FROM information_schema.processlist WHERE state LIKE '%metadata lock%'").empty();
      }
      auto db = servers().postgres.admin();
      return !db.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'")
                  .empty();
    } catch (...) {
      return false;
    }
  }

 private:
  bool m_mariadb;
  std::optional<MysqlConnection> m_mysql;
  std::optional<PostgresConnection> m_postgres;
};

class BackupInterruptTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    bool mariadb = GetParam().mariadb;
    if (mariadb) {
      create_mariadb_bulk("held", 20000);
      servers().mariadb.admin().execute("CREATE TABLE held.blocker (id INT PRIMARY KEY)");
    } else {
      create_postgres_bulk("held", 20000);
      auto db = servers().postgres.admin("held");
      db.execute("SET ROLE " + std::string(k_test_user));
      db.execute("CREATE TABLE blocker (id int PRIMARY KEY)");
    }
    auto password = m_dir.path() / "password";
    std::ofstream(password) << k_test_password << "\n";
    ::chmod(password.c_str(), 0600);
    m_config = m_dir.path() / "dbkeeper.toml";
    std::ofstream(m_config) << "[agent]\nrepository = \"" << repository_path().string() << "\"\n"
                            << "[[target]]\nname = \"shop\"\nengine = \"" << (mariadb ? "mariadb" : "postgres")
                            << "\"\nport = " << (mariadb ? servers().mariadb.port() : servers().postgres.port())
                            << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << password.string()
                            << "\"\ndatabases = [\"held\"]\n"
                            << "[target.verify]\ninstance_directory = \"" << instances_path().string() << "\"\n";
    std::filesystem::create_directories(instances_path());
    // A PostgreSQL instance runs as 'postgres' when the tests run as root.
    ::chmod(m_dir.path().c_str(), 0711);
  }

  // Where verification restores start their scratch instances.
  std::filesystem::path instances_path() const { return m_dir.path() / "instances"; }

  std::filesystem::path repository_path() const { return m_dir.path() / "repository"; }
  std::filesystem::path backups_path() const { return repository_path() / "shop" / "backups"; }

  CompletedProcess backup() {
    return run_dbkeeper({"backup", "shop", "--type", "full", "--config", m_config.string()});
  }

  ChildProcess start_backup() {
    return ChildProcess::start(ProcessSpec{
        .argv = {dbkeeper_binary().string(), "backup", "shop", "--type", "full", "--config", m_config.string()}});
  }

  std::size_t partial_directories() const {
    std::size_t count = 0;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(backups_path(), error))
      // A backup cut short: its attempt marker and no manifest.
      if (std::filesystem::exists(entry.path() / ".attempt") &&
          !std::filesystem::exists(entry.path() / "manifest.json"))
        ++count;
    return count;
  }

  void stop_server() { GetParam().mariadb ? servers().mariadb.stop() : servers().postgres.stop(); }
  void start_server() { GetParam().mariadb ? servers().mariadb.start() : servers().postgres.start(); }

  TempDir m_dir;
  std::filesystem::path m_config;
};

TEST_P(BackupInterruptTest, a_server_stopped_during_a_dump_leaves_no_manifest_and_older_backups_intact) {
  auto first = backup();
  ASSERT_EQ(first.status.code, 0) << first.stderr_text;
  Repository repository(repository_path());
  auto older = repository.list("shop");
  ASSERT_EQ(older.size(), 1u);

  std::optional<ExitStatus> status;
  std::string stderr_text;
  {
    TableLock lock(GetParam().mariadb);
    auto child = start_backup();
    ASSERT_TRUE(eventually([&] { return lock.dump_is_waiting(); }, 20s)) << "the dump never reached the lock";
    stop_server();
    status = child.wait_for(60s);
    stderr_text = child.stderr_text();
  }
  start_server();

  ASSERT_TRUE(status.has_value()) << "backup did not end after the server stopped";
  EXPECT_EQ(status->code, 1) << stderr_text;
  EXPECT_NE(stderr_text.find("failed"), std::string::npos) << stderr_text;
  auto after = repository.list("shop");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].manifest.id, older[0].manifest.id);
  EXPECT_EQ(partial_directories(), 0u);
  Target target = GetParam().mariadb ? mariadb_target({"held"}) : postgres_target({"held"});
  target.name = "shop";
  EXPECT_TRUE(verify_backup(target, repository, older[0].manifest.id, false).passed);
  EXPECT_EQ(repository.read_state("shop").backups["full"].failure, 1u);
}

TEST_P(BackupInterruptTest, a_sigkilled_backup_is_never_listed_and_the_next_one_succeeds) {
  {
    TableLock lock(GetParam().mariadb);
    auto child = start_backup();
    ASSERT_TRUE(eventually([&] { return lock.dump_is_waiting(); }, 20s));

    // A second backup of the same target fails fast and names the holder.
    auto second = backup();
    EXPECT_EQ(second.status.code, 1);
    EXPECT_NE(
        second.stderr_text.find("another backup of target 'shop' is running (pid " + std::to_string(child.pid()) + ")"),
        std::string::npos)
        << second.stderr_text;

    ::kill(child.pid(), SIGKILL);
    EXPECT_EQ(child.wait().signal, SIGKILL);
    EXPECT_EQ(partial_directories(), 1u);
    EXPECT_TRUE(Repository(repository_path()).list("shop").empty());
  }
  auto next = backup();
  EXPECT_EQ(next.status.code, 0) << next.stderr_text;
  EXPECT_EQ(Repository(repository_path()).list("shop").size(), 1u);
  EXPECT_EQ(partial_directories(), 0u);
}

TEST_P(BackupInterruptTest, ctrl_c_stops_a_backup_and_cleans_up) {
  TableLock lock(GetParam().mariadb);
  auto child = start_backup();
  ASSERT_TRUE(eventually([&] { return lock.dump_is_waiting(); }, 20s));
  auto started = std::chrono::steady_clock::now();
  ::kill(child.pid(), SIGINT);
  auto status = child.wait_for(15s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_NE(child.stderr_text().find("interrupted"), std::string::npos) << child.stderr_text();
  EXPECT_EQ(partial_directories(), 0u);
  EXPECT_TRUE(Repository(repository_path()).list("shop").empty());
}

TEST_P(BackupInterruptTest, ctrl_c_during_a_verification_restore_drops_the_scratch_database) {
  // Enough rows that the restore is still loading when the signal arrives.
  if (GetParam().mariadb)
    create_mariadb_bulk("held", 300000);
  else
    create_postgres_bulk("held", 300000);
  auto first = backup();
  ASSERT_EQ(first.status.code, 0) << first.stderr_text;
  auto child = ChildProcess::start(
      ProcessSpec{.argv = {dbkeeper_binary().string(), "verify", "shop", "--restore", "--config", m_config.string()}});
  ASSERT_TRUE(eventually([&] { return child.stderr_text().find("into scratch database") != std::string::npos; }, 20s))
      << child.stderr_text();
  ::kill(child.pid(), SIGINT);
  auto status = child.wait_for(30s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 1) << child.stderr_text();
  Target target = GetParam().mariadb ? mariadb_target({"held"}) : postgres_target({"held"});
  EXPECT_TRUE(create_engine(target.engine)->databases_with_prefix(target, "dbkeeper_verify_").empty())
      << child.stderr_text();
  EXPECT_TRUE(std::filesystem::is_empty(instances_path())) << "the scratch instance was not removed";
  auto entry = Repository(repository_path()).find("shop", "latest");
  ASSERT_TRUE(entry.verification.has_value());
  EXPECT_FALSE(entry.verification->passed);
}

TEST_P(BackupInterruptTest, a_sigkilled_verification_takes_its_scratch_instance_down_and_the_next_removes_it) {
  if (GetParam().mariadb)
    create_mariadb_bulk("held", 300000);
  else
    create_postgres_bulk("held", 300000);
  auto first = backup();
  ASSERT_EQ(first.status.code, 0) << first.stderr_text;
  auto child = ChildProcess::start(
      ProcessSpec{.argv = {dbkeeper_binary().string(), "verify", "shop", "--restore", "--config", m_config.string()}});
  ASSERT_TRUE(eventually([&] { return child.stderr_text().find("into scratch database") != std::string::npos; }, 30s))
      << child.stderr_text();
  ASSERT_EQ(std::distance(std::filesystem::directory_iterator(instances_path()), {}), 1);
  auto leftover = std::filesystem::directory_iterator(instances_path())->path();
  ::kill(child.pid(), SIGKILL);
  child.wait_for(30s);
  // The server had the agent's death as its own: nothing runs from its directory.
  auto server_runs = [&] {
    for (const auto& process : std::filesystem::directory_iterator("/proc")) {
      std::ifstream in(process.path() / "cmdline", std::ios::binary);
      std::string command_line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (command_line.find(leftover.string()) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(eventually([&] { return !server_runs(); }, 20s)) << "the scratch server outlived the agent";
  EXPECT_TRUE(std::filesystem::exists(leftover));

  auto next = run_dbkeeper({"verify", "shop", "--restore", "--config", m_config.string()});
  EXPECT_EQ(next.status.code, 0) << next.stderr_text;
  EXPECT_NE(next.stderr_text.find("removing scratch instance"), std::string::npos) << next.stderr_text;
  EXPECT_FALSE(std::filesystem::exists(leftover)) << "the killed run's instance was not removed";
  EXPECT_TRUE(std::filesystem::is_empty(instances_path()));
}

INSTANTIATE_TEST_SUITE_P(engines, BackupInterruptTest,
                         ::testing::Values(Engine{"mariadb", true}, Engine{"postgres", false}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace dbkeeper
