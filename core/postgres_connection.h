#pragma once
// A connection to PostgreSQL through libpq, owned by this object and closed on
// destruction. Parameters go to PQconnectdbParams as key/value arrays, so the
// password is never part of a connection string that could be logged.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/query_result.h"

namespace dbkeeper {

struct PostgresConnectOptions {
  std::string host = "127.0.0.1";  // or a socket directory
  unsigned port = 5432;
  std::string user;
  std::string password;  // never logged, never part of an error message
  std::string database = "postgres";
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds statement_timeout{30};
};

// Cancels the statement running on a connection, from another thread.
class PostgresCancelHandle {
 public:
  PostgresCancelHandle(PostgresCancelHandle&&) noexcept;
  ~PostgresCancelHandle();
  // Best effort: the statement fails with SQLSTATE 57014 if it was running.
  void cancel() const;

 private:
  friend class PostgresConnection;
  struct Handle;
  explicit PostgresCancelHandle(std::unique_ptr<Handle> handle);
  std::unique_ptr<Handle> m_handle;
};

class PostgresConnection {
 public:
  // Throws Error{connection} with libpq's message.
  static PostgresConnection connect(const PostgresConnectOptions& options);

  PostgresConnection(PostgresConnection&&) noexcept;
  PostgresConnection& operator=(PostgresConnection&&) noexcept;
  ~PostgresConnection();

  // Throws Error{query} with SQLSTATE and the server's message, or
  // Error{connection} when the connection is gone.
  QueryResult query(std::string_view sql);
  void execute(std::string_view sql);

  std::string server_version() const;  // e.g. "15.18"
  // Take this before handing the connection to another thread.
  PostgresCancelHandle cancel_handle() const;
  static std::string quote_identifier(std::string_view name);

 private:
  struct Handle;
  PostgresConnection(std::unique_ptr<Handle> handle, std::string endpoint);
  std::unique_ptr<Handle> m_handle;
  std::string m_endpoint;
};

}  // namespace dbkeeper
