// `dbkeeper run` against the real servers: dbkeeper_up follows the databases,
// the endpoint keeps serving while one is down, the exposition passes
// promtool, no password leaks, and SIGTERM stops the agent promptly.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/child_process.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "core/unique_fd.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::http_get;
using testing::sample_value;
using testing::servers;

constexpr const char* k_wrong_password = "n0t-the-Pa55w0rd-e8a3";

class AgentRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(m_dir.path().c_str(), 0700);
    auto password = m_dir.path() / "mariadb.password";
    std::ofstream(password) << testing::k_test_password << "\n";
    ::chmod(password.c_str(), 0600);
    auto wrong = m_dir.path() / "wrong.password";
    std::ofstream(wrong) << k_wrong_password << "\n";
    ::chmod(wrong.c_str(), 0600);
    m_port = testing::free_loopback_port();
    m_config = m_dir.path() / "dbkeeper.toml";
    write_config("1s", "1s");
    ::setenv("BILLING_DB_PASSWORD", testing::k_test_password, 1);
  }

  void write_config(const std::string& interval, const std::string& timeout, const std::string& extra = "") {
    auto password = m_dir.path() / "mariadb.password";
    auto wrong = m_dir.path() / "wrong.password";
    std::ofstream(m_config) << "[agent]\nlisten_address = \"127.0.0.1:" << m_port << "\"\nrepository = \""
                            << (m_dir.path() / "repository").string() << "\"\n"
                            << "[collectors.up]\ninterval = \"" << interval << "\"\ntimeout = \"" << timeout << "\"\n"
                            << "[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nport = " << servers().mariadb.port()
                            << "\nuser = \"" << testing::k_test_user << "\"\npassword_file = \"" << password.string()
                            << "\"\nconnect_timeout = \"1s\"\n"
                            << "[[target]]\nname = \"billing\"\nengine = \"postgres\"\nport = "
                            << servers().postgres.port() << "\nuser = \"" << testing::k_test_user
                            << "\"\npassword_env = \"BILLING_DB_PASSWORD\"\nconnect_timeout = \"1s\"\n"
                            << "[[target]]\nname = \"locked\"\nengine = \"mysql\"\nport = " << servers().mariadb.port()
                            << "\nuser = \"" << testing::k_test_user << "\"\npassword_file = \"" << wrong.string()
                            << "\"\nconnect_timeout = \"1s\"\n"
                            << extra;
  }

  std::string metrics() { return http_get(m_port, "/metrics").body; }

  std::optional<double> up(const std::string& target) {
    return sample_value(metrics(), "dbkeeper_up{target=\"" + target + "\"}");
  }

  TempDir m_dir;
  std::filesystem::path m_config;
  unsigned m_port = 0;
};

TEST_F(AgentRunTest, reports_up_for_each_target) {
  testing::AgentProcess agent(m_config, m_port);
  ASSERT_TRUE(eventually([&] { return up("shop") == 1 && up("billing") == 1; }, 15s)) << metrics() << agent.log();
  auto body = metrics();
  EXPECT_EQ(sample_value(body, R"(dbkeeper_up{target="locked"})"), 0);
  EXPECT_EQ(sample_value(body, R"(dbkeeper_collector_success{collector="up",target="shop"})"), 1);
  EXPECT_EQ(sample_value(body, R"(dbkeeper_collector_success{collector="up",target="locked"})"), 0);
  EXPECT_NE(body.find("dbkeeper_build_info{version=\"0.1.0\",revision=\""), std::string::npos);
  // The server's reason reaches the log.
  EXPECT_TRUE(
      eventually([&] { return agent.log().find("Access denied for user 'dbkeeper'") != std::string::npos; }, 5s))
      << agent.log();
}

TEST_F(AgentRunTest, up_follows_a_server_that_stops_and_returns) {
  testing::AgentProcess agent(m_config, m_port);
  ASSERT_TRUE(eventually([&] { return up("shop") == 1; }, 15s)) << agent.log();

  servers().mariadb.stop();
  bool went_down = eventually([&] { return up("shop") == 0; }, 15s);
  // While MariaDB is gone the agent keeps serving, and PostgreSQL stays up.
  auto health = http_get(m_port, "/healthz");
  auto billing = up("billing");
  auto shop_success = sample_value(metrics(), R"(dbkeeper_collector_success{collector="up",target="shop"})");
  servers().mariadb.start();

  EXPECT_TRUE(went_down) << metrics();
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(billing, 1);
  EXPECT_EQ(shop_success, 0);
  EXPECT_TRUE(eventually([&] { return up("shop") == 1; }, 20s)) << agent.log();
}

TEST_F(AgentRunTest, exposition_passes_promtool) {
  testing::AgentProcess agent(m_config, m_port);
  ASSERT_TRUE(eventually([&] { return up("shop") == 1; }, 15s));
  auto body = metrics();
  auto input = m_dir.path() / "metrics.txt";
  std::ofstream(input) << body;
  // promtool reads the exposition on stdin.
  auto check = ChildProcess::start(
      ProcessSpec{.argv = {testing::find_program("promtool").string(), "check", "metrics"}, .stdin_pipe = true});
  {
    UniqueFd stdin_fd = check.take_stdin();
    write_all(stdin_fd.get(), body.data(), body.size(), "promtool stdin");
  }
  std::string stdout_text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(check.stdout_fd(), buffer, sizeof buffer)) > 0;)
    stdout_text.append(buffer, static_cast<std::size_t>(n));
  auto status = check.wait();
  EXPECT_TRUE(status.success()) << stdout_text << check.stderr_text() << "\n" << body;
  EXPECT_EQ(stdout_text + check.stderr_text(), "") << body;
}

TEST_F(AgentRunTest, every_exported_metric_is_documented) {
  // Every collector on: a target with a migrations entry exports those too.
  std::filesystem::create_directories(m_dir.path() / "migrations");
  write_config("1s", "1s",
               "[[target]]\nname = \"apps\"\nengine = \"mariadb\"\nport = " + std::to_string(servers().mariadb.port()) +
                   "\nuser = \"" + testing::k_test_user + "\"\npassword_file = \"" +
                   (m_dir.path() / "mariadb.password").string() +
                   "\"\n[[target.migrations]]\ndatabase = \"mysql\"\nframework = \"laravel\"\npath = \"" +
                   (m_dir.path() / "migrations").string() + "\"\n");
  testing::AgentProcess agent(m_config, m_port);
  ASSERT_TRUE(eventually(
      [&] { return sample_value(metrics(), R"(dbkeeper_migrations_pending{target="apps",database="mysql"})") == 0; },
      10s))
      << agent.log();
  ASSERT_TRUE(eventually([&] { return up("shop") == 1; }, 15s));
  std::ifstream in(std::filesystem::path(DBKEEPER_SOURCE_DIR) / "docs" / "metrics.md");
  std::stringstream docs;
  docs << in.rdbuf();
  std::istringstream lines(metrics());
  std::string line;
  int families = 0;
  while (std::getline(lines, line)) {
    if (!line.starts_with("# TYPE ")) continue;
    std::string name = line.substr(7, line.find(' ', 7) - 7);
    ++families;
    EXPECT_NE(docs.str().find("`" + name + "`"), std::string::npos) << name << " is missing from docs/metrics.md";
  }
  EXPECT_GE(families, 4);
}

TEST_F(AgentRunTest, passwords_never_reach_logs_or_metrics) {
  std::string log;
  std::string body;
  {
    testing::AgentProcess agent(m_config, m_port, {"--log-level", "debug"});
    ASSERT_TRUE(eventually([&] { return agent.log().find("Access denied") != std::string::npos; }, 10s)) << agent.log();
    body = metrics();
    agent.stop();
    log = agent.log();
  }
  for (const std::string& secret : {std::string(testing::k_test_password), std::string(k_wrong_password)}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "log leaks a password:\n" << log;
    EXPECT_EQ(body.find(secret), std::string::npos) << "metrics leak a password";
  }
}

TEST_F(AgentRunTest, json_log_lines_are_json) {
  std::string log;
  {
    testing::AgentProcess agent(m_config, m_port, {"--log-format", "json"});
    ASSERT_TRUE(eventually([&] { return agent.log().find("Access denied") != std::string::npos; }, 10s)) << agent.log();
    agent.stop();
    log = agent.log();
  }
  std::istringstream lines(log);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto object = nlohmann::json::parse(line);  // throws on a non-JSON line
    EXPECT_TRUE(object.contains("time") && object.contains("level") && object.contains("message")) << line;
    ++count;
  }
  EXPECT_GE(count, 3) << log;
}

TEST_F(AgentRunTest, sigterm_and_sigint_stop_it_within_five_seconds) {
  for (int signal_number : {SIGTERM, SIGINT}) {
    testing::AgentProcess agent(m_config, m_port);
    ASSERT_TRUE(eventually([&] { return up("shop") == 1; }, 15s));
    auto [status, elapsed] = agent.stop(signal_number);
    EXPECT_EQ(status.code, 0) << status.describe() << agent.log();
    EXPECT_LT(elapsed, 5s) << strsignal(signal_number);
    EXPECT_NE(agent.log().find("stopped"), std::string::npos);
  }
}

TEST_F(AgentRunTest, stops_promptly_even_while_a_target_does_not_answer) {
  // A listener that never accepts: the TCP handshake completes in the
  // kernel, then the client waits for a greeting that never comes.
  UniqueFd blackhole(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(blackhole.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(blackhole.get(), 16), 0);
  socklen_t length = sizeof address;
  ::getsockname(blackhole.get(), reinterpret_cast<sockaddr*>(&address), &length);
  auto port = std::to_string(ntohs(address.sin_port));
  // Probes may now hang for 30 s: longer than any stop may take.
  write_config("1m", "30s",
               "[[target]]\nname = \"silent\"\nengine = \"mariadb\"\nport = " + port +
                   "\nuser = \"x\"\nconnect_timeout = \"30s\"\n[[target]]\nname = \"silent_pg\"\nengine = "
                   "\"postgres\"\nport = " +
                   port + "\nuser = \"x\"\nconnect_timeout = \"30s\"\n");
  testing::AgentProcess agent(m_config, m_port);
  std::this_thread::sleep_for(1s);  // both probes are now stuck waiting for a greeting
  auto [status, elapsed] = agent.stop(SIGTERM);
  EXPECT_EQ(status.code, 0) << agent.log();
  EXPECT_LT(elapsed, 5s) << agent.log();
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

// A TCP connection to the agent that says nothing (idle) or sends a request
// one byte at a time and never finishes it (slowloris).
UniqueFd open_connection(unsigned port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw_system_error("connect to the agent", errno);
  return fd;
}

TEST_F(AgentRunTest, idle_and_slow_connections_do_not_stall_a_scrape) {
  testing::AgentProcess agent(m_config, m_port);
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 25; ++i) idle.push_back(open_connection(m_port));
  std::vector<UniqueFd> slow;
  for (int i = 0; i < 25; ++i) slow.push_back(open_connection(m_port));
  std::jthread dribble([&](std::stop_token stop) {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (std::size_t at = 0; !stop.stop_requested(); ++at) {
      for (auto& fd : slow) {
        char c = at < request.size() ? request[at] : 'a';
        (void)!::send(fd.get(), &c, 1, MSG_NOSIGNAL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // every connection is accepted by now
  for (int scrape = 0; scrape < 3; ++scrape) {
    auto started = std::chrono::steady_clock::now();
    testing::HttpResponse response;
    try {
      response = http_get(m_port, "/metrics", std::chrono::seconds(5));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "scrape " << scrape << ": " << e.what();
    }
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(response.status, 200);
    EXPECT_LT(took, std::chrono::seconds(1)) << "scrape " << scrape << " waited behind the open connections";
  }
}

}  // namespace
}  // namespace dbkeeper
