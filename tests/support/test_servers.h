#pragma once
// Real MariaDB and PostgreSQL servers for tests, each in its own temporary
// directory, on a free loopback port and a unix socket. Started once per test
// binary by ServersEnvironment and always stopped; tests may stop() and
// start() a server to see how dbkeeper copes with a database going away.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/child_process.h"
#include "core/mysql_connection.h"
#include "core/postgres_connection.h"
#include "core/temp_dir.h"

namespace dbkeeper::testing {

// A TCP port on 127.0.0.1 that nobody listens on right now.
unsigned free_loopback_port();

// find_executable(), or Error naming the missing program.
std::filesystem::path find_program(const std::string& name);

inline constexpr const char* k_test_user = "dbkeeper";
inline constexpr const char* k_test_password = "t3st-Pa55-w0rd-6c1f";

class MariaDbServer {
 public:
  MariaDbServer();
  ~MariaDbServer();
  void start();
  void stop();
  bool running() const { return m_process.has_value(); }

  unsigned port() const { return m_port; }
  std::filesystem::path socket() const { return m_dir.path() / "mysqld.sock"; }
  std::filesystem::path directory() const { return m_dir.path(); }
  // Connects as root through the socket (no password).
  MysqlConnection admin() const;
  // Connection options for the password-protected test user over TCP.
  MysqlConnectOptions user_options() const;

 private:
  TempDir m_dir;
  unsigned m_port;
  bool m_initialised = false;
  std::optional<ChildProcess> m_process;
};

class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  void start();
  void stop();
  bool running() const { return m_process.has_value(); }

  unsigned port() const { return m_port; }
  std::filesystem::path socket_directory() const { return m_dir.path(); }
  std::filesystem::path directory() const { return m_dir.path(); }
  PostgresConnection admin(const std::string& database = "postgres") const;
  PostgresConnectOptions user_options() const;

 private:
  TempDir m_dir;
  unsigned m_port;
  bool m_initialised = false;
  std::optional<ChildProcess> m_process;
};

struct TestServers {
  MariaDbServer mariadb;
  PostgresServer postgres;
};

// The servers of this test binary (started by ServersEnvironment).
TestServers& servers();

// Registers the environment that starts and stops the servers; call from main.
void add_servers_environment();

}  // namespace dbkeeper::testing
