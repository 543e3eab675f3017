#pragma once
// A connection to MySQL or MariaDB through libmysqlclient (MariaDB
// Connector/C), owned by this object and closed on destruction.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/query_result.h"

namespace dbkeeper {

struct MysqlConnectOptions {
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string socket;  // when set, used instead of host and port
  std::string user;
  std::string password;  // never logged, never part of an error message
  std::string database;  // optional default schema
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds read_timeout{30};
  std::string init_command;  // run first on every connection (and reconnection)
};

class MysqlConnection {
 public:
  // Throws Error{connection} with the server's message, e.g.
  // "unable to connect to MySQL at 127.0.0.1:3306 as 'backup': ERROR 1045 (28000): Access denied ...".
  static MysqlConnection connect(const MysqlConnectOptions& options);

  MysqlConnection(MysqlConnection&&) noexcept;
  MysqlConnection& operator=(MysqlConnection&&) noexcept;
  ~MysqlConnection();

  // Throws Error{query} carrying the server's message, or Error{connection}
  // when the server went away.
  QueryResult query(std::string_view sql);
  void execute(std::string_view sql);

  std::string server_version() const;
  // Quotes an identifier with backticks.
  static std::string quote_identifier(std::string_view name);
  std::string quote_string(std::string_view value);

 private:
  struct Handle;
  explicit MysqlConnection(std::unique_ptr<Handle> handle, std::string endpoint);
  std::unique_ptr<Handle> m_handle;
  std::string m_endpoint;
};

}  // namespace dbkeeper
