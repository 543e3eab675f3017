#include "core/mysql_connection.h"

#include <errmsg.h>
#include <mysql.h>

#include <mutex>

#include "core/error.h"

namespace dbkeeper {

namespace {

// mysql_library_init is not thread-safe; mysql_init calls it implicitly.
void initialise_library_once() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

std::string describe_error(MYSQL* mysql) {
  return "ERROR " + std::to_string(mysql_errno(mysql)) + " (" + mysql_sqlstate(mysql) + "): " + mysql_error(mysql);
}

bool connection_lost(unsigned code) {
  return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_CONNECTION_ERROR ||
         code == CR_CONN_HOST_ERROR;
}

}  // namespace

struct MysqlConnection::Handle {
  MYSQL* mysql = nullptr;
  ~Handle() {
    if (mysql) mysql_close(mysql);
  }
};

MysqlConnection MysqlConnection::connect(const MysqlConnectOptions& options) {
  initialise_library_once();
  auto handle = std::make_unique<Handle>();
  handle->mysql = mysql_init(nullptr);
  if (!handle->mysql) throw Error(ErrorKind::internal, "mysql_init failed: out of memory");

  std::string endpoint = options.socket.empty() ? options.host + ":" + std::to_string(options.port) : options.socket;
  unsigned connect_timeout = static_cast<unsigned>(options.connect_timeout.count());
  unsigned read_timeout = static_cast<unsigned>(options.read_timeout.count());
  mysql_options(handle->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(handle->mysql, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  mysql_options(handle->mysql, MYSQL_OPT_WRITE_TIMEOUT, &read_timeout);
  mysql_options(handle->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!options.init_command.empty()) mysql_options(handle->mysql, MYSQL_INIT_COMMAND, options.init_command.c_str());
  // A socket path wins; with TCP, force TCP even for "localhost".
  unsigned protocol = options.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  mysql_options(handle->mysql, MYSQL_OPT_PROTOCOL, &protocol);

  const char* host = options.socket.empty() ? options.host.c_str() : "localhost";
  if (!mysql_real_connect(handle->mysql, host, options.user.c_str(), options.password.c_str(),
                          options.database.empty() ? nullptr : options.database.c_str(), options.port,
                          options.socket.empty() ? nullptr : options.socket.c_str(), 0)) {
    throw Error(ErrorKind::connection, "unable to connect to MySQL at " + endpoint + " as '" + options.user +
                                           "': " + describe_error(handle->mysql));
  }
  return MysqlConnection(std::move(handle), std::move(endpoint));
}

MysqlConnection::MysqlConnection(std::unique_ptr<Handle> handle, std::string endpoint)
    : m_handle(std::move(handle)), m_endpoint(std::move(endpoint)) {}
MysqlConnection::MysqlConnection(MysqlConnection&&) noexcept = default;
MysqlConnection& MysqlConnection::operator=(MysqlConnection&&) noexcept = default;
MysqlConnection::~MysqlConnection() = default;

QueryResult MysqlConnection::query(std::string_view sql) {
  MYSQL* mysql = m_handle->mysql;
  if (mysql_real_query(mysql, sql.data(), sql.size()) != 0) {
    unsigned code = mysql_errno(mysql);
    throw Error(connection_lost(code) ? ErrorKind::connection : ErrorKind::query,
                "query on MySQL at " + m_endpoint + " failed: " + describe_error(mysql));
  }
  QueryResult result;
  // Drain every result set so the connection stays usable after CALL or multi-statements.
  MYSQL_RES* first = mysql_store_result(mysql);
  if (first == nullptr) {
    if (mysql_field_count(mysql) != 0)
      throw Error(ErrorKind::query, "reading result from MySQL at " + m_endpoint + " failed: " + describe_error(mysql));
    return result;
  }
  std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> owner(first, mysql_free_result);
  unsigned field_count = mysql_num_fields(first);
  MYSQL_FIELD* fields = mysql_fetch_fields(first);
  for (unsigned i = 0; i < field_count; ++i) result.columns.emplace_back(fields[i].name);
  while (MYSQL_ROW row = mysql_fetch_row(first)) {
    unsigned long* lengths = mysql_fetch_lengths(first);
    std::vector<SqlValue> values;
    values.reserve(field_count);
    for (unsigned i = 0; i < field_count; ++i)
      values.push_back(row[i] ? SqlValue(std::string(row[i], lengths[i])) : std::nullopt);
    result.rows.push_back(std::move(values));
  }
  return result;
}

void MysqlConnection::execute(std::string_view sql) {
  query(sql);
}

std::string MysqlConnection::server_version() const {
  return mysql_get_server_info(m_handle->mysql);
}

std::string MysqlConnection::quote_identifier(std::string_view name) {
  std::string quoted = "`";
  for (char c : name) {
    if (c == '`') quoted += '`';
    quoted += c;
  }
  return quoted + "`";
}

std::string MysqlConnection::quote_string(std::string_view value) {
  std::string buffer(value.size() * 2 + 1, '\0');
  unsigned long n = mysql_real_escape_string(m_handle->mysql, buffer.data(), value.data(), value.size());
  buffer.resize(n);
  return "'" + buffer + "'";
}

}  // namespace dbkeeper
