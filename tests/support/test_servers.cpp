#include "tests/support/test_servers.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "backup/privileges.h"
#include "core/error.h"
#include "core/file_tail.h"
#include "core/unique_fd.h"

namespace dbkeeper::testing {
namespace {

using namespace std::chrono_literals;

// Runs a setup tool and fails loudly with its output.
void run_checked(const ProcessSpec& spec) {
  auto result = run_process(spec, 5min);
  if (!result.status.success())
    throw Error(ErrorKind::process, spec.argv.front() + " " + result.status.describe() + ": " + result.stderr_text +
                                        "\n" + result.stdout_text);
}

template <typename Connect>
void wait_until_ready(ChildProcess& process, const std::filesystem::path& log, Connect connect) {
  auto deadline = std::chrono::steady_clock::now() + 120s;
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto status = process.wait_for(0ms))
      throw Error(ErrorKind::process,
                  process.program() + " " + status->describe() + " during start-up:\n" + file_tail(log, 4000));
    try {
      connect();
      return;
    } catch (const Error& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(100ms);
  }
  throw Error(ErrorKind::timeout, process.program() + " did not accept connections within 120 s: " + last_error + "\n" +
                                      file_tail(log, 4000));
}

std::vector<Job> everything() {
  return {all_jobs().begin(), all_jobs().end()};
}

bool running_as_root() {
  return ::geteuid() == 0;
}

struct passwd* postgres_account() {
  struct passwd* account = ::getpwnam("postgres");
  if (account == nullptr) throw Error(ErrorKind::internal, "the 'postgres' user does not exist; install postgresql");
  return account;
}

// initdb and postgres refuse to run as root: drop to the postgres user with
// setpriv, which execs in place, so signals reach postgres itself.
std::vector<std::string> as_postgres(std::vector<std::string> argv) {
  if (!running_as_root()) return argv;
  std::vector<std::string> wrapped{"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::filesystem::path postgres_bin_directory() {
  std::filesystem::path best;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
    if (std::filesystem::exists(entry.path() / "bin" / "postgres") && entry.path() > best) best = entry.path();
  }
  if (best.empty())
    throw Error(ErrorKind::internal, "no PostgreSQL server under /usr/lib/postgresql; install postgresql");
  return best / "bin";
}

}  // namespace

unsigned free_loopback_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw_system_error("unable to bind a loopback port", errno);
  socklen_t length = sizeof address;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

std::filesystem::path find_program(const std::string& name) {
  if (auto path = find_executable(name)) return *path;
  throw Error(ErrorKind::internal, "program '" + name + "' not found; scripts/test installs it");
}

// ---------------------------------------------------------------- MariaDB

MariaDbServer::MariaDbServer()
    : m_dir(std::filesystem::temp_directory_path(), "dbkeeper-mariadb-"), m_port(free_loopback_port()) {}

MariaDbServer::~MariaDbServer() {
  try {
    stop();
  } catch (...) {
  }
}

void MariaDbServer::start() {
  if (m_process) return;
  auto data = m_dir.path() / "data";
  if (!m_initialised) {
    std::vector<std::string> argv{
        find_program("mariadb-install-db").string(), "--no-defaults",  "--datadir=" + data.string(),
        "--auth-root-authentication-method=normal",  "--skip-test-db", "--skip-name-resolve"};
    if (running_as_root()) argv.push_back("--user=root");
    run_checked(ProcessSpec{.argv = argv});
  }
  std::vector<std::string> argv{
      find_program("mariadbd").string(), "--no-defaults", "--datadir=" + data.string(), "--socket=" + socket().string(),
      "--port=" + std::to_string(m_port), "--bind-address=127.0.0.1",
      "--pid-file=" + (m_dir.path() / "mariadbd.pid").string(), "--log-error=" + (m_dir.path() / "error.log").string(),
      "--log-bin=" + (m_dir.path() / "binlog").string(), "--server-id=1", "--binlog-format=ROW", "--skip-name-resolve",
      "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M", "--performance-schema=ON",
      // docs/privileges.md: needed to load triggers and routines without SUPER.
      "--log-bin-trust-function-creators=1"};
  if (running_as_root()) argv.push_back("--user=root");
  m_process = ChildProcess::start(
      ProcessSpec{.argv = argv, .stdout_to = ProcessOutput::null(), .stderr_to = ProcessOutput::null()});
  wait_until_ready(*m_process, m_dir.path() / "error.log", [&] { admin().query("SELECT 1"); });
  if (!m_initialised) {
    auto root = admin();
    for (const char* host : {"localhost", "127.0.0.1"}) {
      std::string account = std::string("'") + k_test_user + "'@'" + host + "'";
      root.execute("CREATE USER " + account + " IDENTIFIED BY '" + k_test_password + "'");
      // Exactly what docs/privileges.md lists for a target that runs every job.
      for (const auto& statement : grant_statements("mysql", everything(), k_test_user, host)) root.execute(statement);
    }
    m_initialised = true;
  }
}

void MariaDbServer::stop() {
  if (!m_process) return;
  m_process->terminate(60s, SIGTERM);
  m_process.reset();
}

MysqlConnection MariaDbServer::admin() const {
  MysqlConnectOptions options;
  options.socket = socket().string();
  options.user = "root";
  options.connect_timeout = 2s;
  return MysqlConnection::connect(options);
}

MysqlConnectOptions MariaDbServer::user_options() const {
  MysqlConnectOptions options;
  options.host = "127.0.0.1";
  options.port = m_port;
  options.user = k_test_user;
  options.password = k_test_password;
  options.connect_timeout = 2s;
  return options;
}

// ------------------------------------------------------------- PostgreSQL

PostgresServer::PostgresServer()
    : m_dir(std::filesystem::temp_directory_path(), "dbkeeper-postgres-"), m_port(free_loopback_port()) {
  if (running_as_root()) {
    auto* account = postgres_account();
    if (::chown(m_dir.path().c_str(), account->pw_uid, account->pw_gid) != 0)
      throw_system_error("unable to hand " + m_dir.path().string() + " to postgres", errno);
  }
}

PostgresServer::~PostgresServer() {
  try {
    stop();
  } catch (...) {
  }
}

void PostgresServer::start() {
  if (m_process) return;
  auto bin = postgres_bin_directory();
  auto data = m_dir.path() / "data";
  if (!m_initialised) {
    run_checked(ProcessSpec{
        .argv = as_postgres({(bin / "initdb").string(), "-D", data.string(), "-U", "postgres", "--auth-local=trust",
                             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"})});
  }
  auto log = m_dir.path() / "postgres.log";
  m_process = ChildProcess::start(
      ProcessSpec{.argv = as_postgres({(bin / "postgres").string(), "-D", data.string(), "-k", m_dir.path().string(),
                                       "-p", std::to_string(m_port), "-c", "listen_addresses=127.0.0.1", "-c",
                                       "wal_level=replica", "-c", "shared_preload_libraries=pg_stat_statements", "-c",
                                       "fsync=off", "-c", "max_connections=50", "-c", "shared_buffers=32MB"}),
                  .stdout_to = ProcessOutput::to_file(log),
                  .stderr_to = ProcessOutput::to_file(log)});
  wait_until_ready(*m_process, log, [&] { admin().query("SELECT 1"); });
  if (!m_initialised) {
    auto root = admin();
    root.execute(std::string("CREATE ROLE ") + k_test_user + " LOGIN PASSWORD '" + k_test_password + "'");
    // Exactly what docs/privileges.md lists for a target that runs every job.
    for (const auto& statement : grant_statements("postgres", everything(), k_test_user)) root.execute(statement);
    root.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    m_initialised = true;
  }
}

void PostgresServer::stop() {
  if (!m_process) return;
  // SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients.
  m_process->terminate(60s, SIGINT);
  m_process.reset();
}

PostgresConnection PostgresServer::admin(const std::string& database) const {
  PostgresConnectOptions options;
  options.host = m_dir.path().string();
  options.port = m_port;
  options.user = "postgres";
  options.database = database;
  options.connect_timeout = 2s;
  return PostgresConnection::connect(options);
}

PostgresConnectOptions PostgresServer::user_options() const {
  PostgresConnectOptions options;
  options.host = "127.0.0.1";
  options.port = m_port;
  options.user = k_test_user;
  options.password = k_test_password;
  options.database = "postgres";
  options.connect_timeout = 2s;
  return options;
}

// ------------------------------------------------------------ environment

namespace {

std::unique_ptr<TestServers> g_servers;

class ServersEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    try {
      start_both();
    } catch (const std::exception& e) {
      FAIL() << "starting the test database servers failed: " << e.what();
    }
  }

  void start_both() {
    g_servers = std::make_unique<TestServers>();
    // The two servers start independently; start them side by side.
    std::exception_ptr postgres_failure;
    std::thread postgres([&] {
      try {
        g_servers->postgres.start();
      } catch (...) {
        postgres_failure = std::current_exception();
      }
    });
    g_servers->mariadb.start();
    postgres.join();
    if (postgres_failure) std::rethrow_exception(postgres_failure);
  }

  void TearDown() override { g_servers.reset(); }
};

}  // namespace

TestServers& servers() {
  if (!g_servers) throw Error(ErrorKind::internal, "test servers are not running; call add_servers_environment()");
  return *g_servers;
}

void add_servers_environment() {
  ::testing::AddGlobalTestEnvironment(new ServersEnvironment);
}

}  // namespace dbkeeper::testing
