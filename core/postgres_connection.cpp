#include "core/postgres_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace dbkeeper {
namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using OwnedResult = std::unique_ptr<PGresult, ResultDeleter>;

}  // namespace

struct PostgresConnection::Handle {
  PGconn* connection = nullptr;
  ~Handle() {
    if (connection) PQfinish(connection);
  }
};

PostgresConnection PostgresConnection::connect(const PostgresConnectOptions& options) {
  std::string port = std::to_string(options.port);
  // libpq treats anything under 2 s as 2 s; say what we mean.
  std::string connect_timeout = std::to_string(std::max<long>(2, options.connect_timeout.count()));
  std::string server_options = "-c statement_timeout=" + std::to_string(options.statement_timeout.count() * 1000);
  std::string tcp_user_timeout = std::to_string(options.statement_timeout.count() * 1000);

  std::vector<const char*> keys{"host",
                                "port",
                                "user",
                                "dbname",
                                "connect_timeout",
                                "options",
                                "application_name",
                                "client_encoding",
                                "tcp_user_timeout"};
  std::vector<const char*> values{
      options.host.c_str(),    port.c_str(),           options.user.c_str(), options.database.c_str(),
      connect_timeout.c_str(), server_options.c_str(), "dbkeeper",           "UTF8",
      tcp_user_timeout.c_str()};
  if (!options.password.empty()) {
    keys.push_back("password");
    values.push_back(options.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  auto handle = std::make_unique<Handle>();
  handle->connection = PQconnectdbParams(keys.data(), values.data(), 0);
  std::string endpoint = options.host.starts_with("/") ? options.host + " port " + port : options.host + ":" + port;
  if (handle->connection == nullptr) throw Error(ErrorKind::internal, "PQconnectdbParams failed: out of memory");
  if (PQstatus(handle->connection) != CONNECTION_OK)
    throw Error(ErrorKind::connection, "unable to connect to PostgreSQL at " + endpoint + " as '" + options.user +
                                           "': " + trimmed(PQerrorMessage(handle->connection)));
  return PostgresConnection(std::move(handle), std::move(endpoint));
}

PostgresConnection::PostgresConnection(std::unique_ptr<Handle> handle, std::string endpoint)
    : m_handle(std::move(handle)), m_endpoint(std::move(endpoint)) {}
PostgresConnection::PostgresConnection(PostgresConnection&&) noexcept = default;
PostgresConnection& PostgresConnection::operator=(PostgresConnection&&) noexcept = default;
PostgresConnection::~PostgresConnection() = default;

QueryResult PostgresConnection::query(std::string_view sql) {
  PGconn* connection = m_handle->connection;
  std::string statement(sql);
  OwnedResult result(PQexec(connection, statement.c_str()));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    if (PQstatus(connection) != CONNECTION_OK)
      throw Error(ErrorKind::connection,
                  "connection to PostgreSQL at " + m_endpoint + " was lost: " + trimmed(PQerrorMessage(connection)));
    const char* sqlstate = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    const char* message = result ? PQresultErrorField(result.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string detail = message ? std::string("ERROR ") + (sqlstate ? sqlstate : "") + ": " + message
                                 : trimmed(PQerrorMessage(connection));
    throw Error(ErrorKind::query, "query on PostgreSQL at " + m_endpoint + " failed: " + detail);
  }
  QueryResult rows;
  int columns = PQnfields(result.get());
  for (int c = 0; c < columns; ++c) rows.columns.emplace_back(PQfname(result.get(), c));
  int count = PQntuples(result.get());
  rows.rows.reserve(static_cast<std::size_t>(count));
  for (int r = 0; r < count; ++r) {
    std::vector<SqlValue> values;
    values.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(result.get(), r, c))
        values.emplace_back(std::nullopt);
      else
        values.emplace_back(
            std::string(PQgetvalue(result.get(), r, c), static_cast<std::size_t>(PQgetlength(result.get(), r, c))));
    }
    rows.rows.push_back(std::move(values));
  }
  return rows;
}

void PostgresConnection::execute(std::string_view sql) {
  query(sql);
}

struct PostgresCancelHandle::Handle {
  PGcancel* cancel = nullptr;
  ~Handle() {
    if (cancel) PQfreeCancel(cancel);
  }
};

PostgresCancelHandle::PostgresCancelHandle(std::unique_ptr<Handle> handle) : m_handle(std::move(handle)) {}
PostgresCancelHandle::PostgresCancelHandle(PostgresCancelHandle&&) noexcept = default;
PostgresCancelHandle::~PostgresCancelHandle() = default;

void PostgresCancelHandle::cancel() const {
  char error[256];
  if (m_handle && m_handle->cancel) PQcancel(m_handle->cancel, error, sizeof error);
}

PostgresCancelHandle PostgresConnection::cancel_handle() const {
  auto handle = std::make_unique<PostgresCancelHandle::Handle>();
  handle->cancel = PQgetCancel(m_handle->connection);
  return PostgresCancelHandle(std::move(handle));
}

std::string PostgresConnection::server_version() const {
  const char* version = PQparameterStatus(m_handle->connection, "server_version");
  return version ? version : "";
}

std::string PostgresConnection::quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace dbkeeper
