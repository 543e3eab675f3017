// The daemon as systemd runs it: the sd_notify protocol, scheduled backups
// and prunes against the real servers, reloads good and bad, and a restart
// after a SIGKILL in the middle of a scheduled backup.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fstream>
#include <sstream>

#include "backup/backup_job.h"
#include "backup/repository.h"
#include "core/temp_dir.h"
#include "core/unique_fd.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/http_get.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using namespace testing;

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    create_mariadb_fixture("daemon_fixture");
    auto password = m_dir.path() / "password";
    std::ofstream(password) << k_test_password << "\n";
    ::chmod(password.c_str(), 0600);
    m_port = free_loopback_port();
    m_config = m_dir.path() / "dbkeeper.toml";
  }

  std::string target(const std::string& name, const std::string& schedule) {
    std::ostringstream text;
    text << "[[target]]\nname = \"" << name << "\"\nengine = \"mariadb\"\nport = " << servers().mariadb.port()
         << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << (m_dir.path() / "password").string()
         << "\"\ndatabases = [\"daemon_fixture\"]\n"
         << schedule;
    return text.str();
  }

  void write_config(const std::string& targets) {
    std::ofstream(m_config, std::ios::trunc)
        << "[agent]\nlisten_address = \"127.0.0.1:" << m_port << "\"\nrepository = \""
        << (m_dir.path() / "repository").string() << "\"\n"
        << "[collectors.up]\ninterval = \"1s\"\n[collectors.backup]\ninterval = \"1s\"\n"
        << targets;
  }

  std::optional<double> value(const std::string& series) {
    try {
      return sample_value(http_get(m_port, "/metrics").body, series);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  Repository repository() const { return Repository(m_dir.path() / "repository"); }

  TempDir m_dir;
  std::filesystem::path m_config;
  unsigned m_port = 0;
};

// A NOTIFY_SOCKET the test owns, as systemd would.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : m_path(path) {
    m_fd = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    if (::bind(m_fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("bind notify socket");
    timeval timeout{0, 100000};
    ::setsockopt(m_fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }

  // Collects datagrams until one contains `text` or `timeout` passes.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      char buffer[4096];
      ssize_t n = ::recv(m_fd.get(), buffer, sizeof buffer, 0);
      if (n > 0) {
        m_messages.emplace_back(buffer, static_cast<std::size_t>(n));
        if (m_messages.back().find(text) != std::string::npos) return true;
      }
    }
    return false;
  }
  int count(const std::string& text) const {
    int n = 0;
    for (const auto& m : m_messages) n += m.find(text) != std::string::npos;
    return n;
  }
  std::string all() const {
    std::string joined;
    for (const auto& m : m_messages) joined += "[" + m + "] ";
    return joined;
  }

 private:
  std::filesystem::path m_path;
  UniqueFd m_fd;
  std::vector<std::string> m_messages;
};

TEST_F(DaemonTest, speaks_the_sd_notify_protocol) {
  write_config(target("shop", ""));
  NotifySocket notify(m_dir.path() / "notify.sock");
  AgentProcess agent(m_config, m_port, {},
                     {{"NOTIFY_SOCKET", (m_dir.path() / "notify.sock").string()}, {"WATCHDOG_USEC", "400000"}});
  EXPECT_TRUE(notify.wait_for("READY=1", 10s)) << notify.all();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1", 2s)) << notify.all();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1", 2s)) << notify.all();
  ::kill(agent.process().pid(), SIGHUP);
  EXPECT_TRUE(notify.wait_for("RELOADING=1", 5s)) << notify.all();
  EXPECT_TRUE(notify.wait_for("READY=1", 5s)) << notify.all();
  agent.stop(SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1", 2s)) << notify.all();
  EXPECT_GE(notify.count("STATUS="), 2) << notify.all();
}

TEST_F(DaemonTest, reload_with_a_broken_config_keeps_the_old_one_running) {
  write_config(target("shop", ""));
  AgentProcess agent(m_config, m_port);
  ASSERT_TRUE(eventually([&] { return value(R"(dbkeeper_up{target="shop"})") == 1; }, 10s)) << agent.log();
  EXPECT_EQ(value("dbkeeper_config_last_reload_success"), 1);

  std::ofstream(m_config, std::ios::app) << "[[target]]\nname = \"broken\"\nengine = \"oracle\"\n";
  ::kill(agent.process().pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return value("dbkeeper_config_last_reload_success") == 0; }, 10s)) << agent.log();
  EXPECT_EQ(value(R"(dbkeeper_up{target="shop"})"), 1);
  EXPECT_NE(agent.log().find("target[1].engine: unknown value \"oracle\""), std::string::npos) << agent.log();
  EXPECT_NE(agent.log().find("still running the previous configuration"), std::string::npos);

  // A good reload swaps targets without a restart.
  write_config(target("shop", "") + target("shop2", ""));
  ::kill(agent.process().pid(), SIGHUP);
  EXPECT_TRUE(eventually([&] { return value("dbkeeper_config_last_reload_success") == 1; }, 10s)) << agent.log();
  EXPECT_TRUE(eventually([&] { return value(R"(dbkeeper_up{target="shop2"})") == 1; }, 10s)) << agent.log();
  EXPECT_TRUE(agent.process().running());
}

TEST_F(DaemonTest, an_every_minute_schedule_backs_up_and_prunes_by_itself) {
  // The first backup runs at start (none exists yet), the next at the minute.
  write_config(target("shop",
                      "[target.schedule]\nfull = \"* * * * *\"\nprune = \"* * * * *\"\n"
                      "[target.retention]\nfull_count = 1\n"));
  AgentProcess agent(m_config, m_port);
  ASSERT_TRUE(eventually([&] { return repository().list("shop").size() >= 1; }, 15s)) << agent.log();
  ASSERT_TRUE(eventually(
      [&] { return value(R"(dbkeeper_backup_runs_total{target="shop",type="full",result="success"})") >= 2; }, 90s))
      << agent.log();
  // The prune of the same minute runs after the backup and keeps one.
  EXPECT_TRUE(eventually([&] { return repository().list("shop").size() == 1; }, 20s)) << agent.log();
  EXPECT_NE(agent.log().find("is overdue (last never); running it now"), std::string::npos) << agent.log();
  EXPECT_NE(agent.log().find("deleting backup"), std::string::npos) << agent.log();
}

TEST_F(DaemonTest, an_incremental_schedule_continues_from_the_newest_backup) {
  write_config(target("shop", "[target.schedule]\nincremental = \"* * * * *\"\n"));
  Target shop = mariadb_target({"daemon_fixture"});
  shop.name = "shop";
  auto full = run_full_backup(shop, repository(), CompressionSettings{});
  // Fresh, so nothing is overdue: the first incremental runs at the next minute.
  AgentProcess agent(m_config, m_port);
  servers().mariadb.admin().execute(
      "INSERT INTO daemon_fixture.`order` (id, customer_id, total) VALUES (900, 1, 9.00)");
  ASSERT_TRUE(eventually([&] { return repository().list("shop").size() >= 2; }, 75s)) << agent.log();
  auto incremental = repository().list("shop")[1].manifest;
  EXPECT_EQ(incremental.type, "incremental");
  EXPECT_EQ(incremental.parent, full.manifest.id);
  EXPECT_EQ(agent.log().find("is overdue"), std::string::npos) << agent.log();
  EXPECT_TRUE(eventually(
      [&] { return value(R"(dbkeeper_backup_runs_total{target="shop",type="incremental",result="success"})") >= 1; },
      10s))
      << agent.log();
}

TEST_F(DaemonTest, a_sigkill_during_a_scheduled_backup_leaves_nothing_and_the_restart_succeeds) {
  create_mariadb_bulk("daemon_held", 1000);
  servers().mariadb.admin().execute("CREATE TABLE daemon_held.blocker (id INT PRIMARY KEY)");
  write_config(target("shop", "[target.schedule]\nfull = \"0 3 * * *\"\n"));
  // Point the target at the blocked database.
  {
    std::ifstream in(m_config);
    std::stringstream text;
    text << in.rdbuf();
    std::string config = text.str();
    config.replace(config.find("daemon_fixture"), 14, "daemon_held");
    std::ofstream(m_config, std::ios::trunc) << config;
  }
  auto partials = [&] {
    std::size_t n = 0;
    std::error_code error;
    for (const auto& e : std::filesystem::directory_iterator(m_dir.path() / "repository" / "shop" / "backups", error))
      n += std::filesystem::exists(e.path() / ".attempt") && !std::filesystem::exists(e.path() / "manifest.json");
    return n;
  };
  {
    auto locker = servers().mariadb.admin();
    locker.execute("LOCK TABLES daemon_held.blocker WRITE");
    AgentProcess agent(m_config, m_port);  // catch-up backup starts and blocks on the lock
    ASSERT_TRUE(
        eventually([&] { return value(R"(dbkeeper_backup_in_progress{target="shop",type="full"})") == 1; }, 15s))
        << agent.log();
    EXPECT_EQ(partials(), 1u);
    ::kill(agent.process().pid(), SIGKILL);
    agent.process().wait();
    locker.execute("UNLOCK TABLES");
  }
  AgentProcess agent(m_config, m_port);
  EXPECT_TRUE(eventually([&] { return repository().list("shop").size() == 1; }, 20s)) << agent.log();
  EXPECT_EQ(partials(), 0u);
  EXPECT_TRUE(eventually([&] { return value(R"(dbkeeper_repository_backups{target="shop",type="full"})") == 1; }, 5s));
}

TEST_F(DaemonTest, sigterm_during_a_scheduled_backup_stops_the_dump_and_leaves_no_partial) {
  create_mariadb_bulk("daemon_term", 1000);
  servers().mariadb.admin().execute("CREATE TABLE daemon_term.blocker (id INT PRIMARY KEY)");
  std::string config = target("shop", "[target.schedule]\nfull = \"0 3 * * *\"\n");
  config.replace(config.find("daemon_fixture"), 14, "daemon_term");
  write_config(config);
  auto locker = servers().mariadb.admin();
  locker.execute("LOCK TABLES daemon_term.blocker WRITE");
  AgentProcess agent(m_config, m_port);
  ASSERT_TRUE(eventually([&] { return value(R"(dbkeeper_backup_in_progress{target="shop",type="full"})") == 1; }, 15s))
      << agent.log();
  auto [status, elapsed] = agent.stop(SIGTERM);
  // The dump tool was stopped too: while the lock is still held, nobody waits on it.
  bool dump_gone = eventually(
      [&] {
        return servers()
            .mariadb.admin()
            .query("SELECT 1 FROM information_schema.processlist WHERE state LIKE '%metadata lock%'")
            .empty();
      },
      5s);
  locker.execute("UNLOCK TABLES");
  EXPECT_TRUE(dump_gone);
  EXPECT_EQ(status.code, 0) << agent.log();
  EXPECT_LT(elapsed, 10s) << agent.log();
  std::size_t partials = 0;
  std::error_code error;
  for (const auto& e : std::filesystem::directory_iterator(m_dir.path() / "repository" / "shop" / "backups", error))
    partials += std::filesystem::exists(e.path() / ".attempt") && !std::filesystem::exists(e.path() / "manifest.json");
  EXPECT_EQ(partials, 0u);
  EXPECT_TRUE(repository().list("shop").empty());
}

}  // namespace
}  // namespace dbkeeper
