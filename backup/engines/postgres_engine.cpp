#include "backup/engines/postgres_engine.h"

#include "core/error.h"

namespace dbkeeper {
namespace {

class PostgresEngine final : public Engine {
 public:
  ServerIdentity probe(const Target& target) const override {
    auto connection = PostgresConnection::connect(postgres_connect_options(target));
    connection.query("SELECT 1");
    return ServerIdentity{"PostgreSQL", connection.server_version()};
  }
};

}  // namespace

std::unique_ptr<Engine> make_postgres_engine() {
  return std::make_unique<PostgresEngine>();
}

PostgresConnectOptions postgres_connect_options(const Target& target, const std::string& database) {
  PostgresConnectOptions options;
  options.host = target.socket.empty() ? target.host : target.socket;
  options.port = target.port;
  options.user = target.user;
  options.password = target.password.reveal();
  if (!database.empty())
    options.database = database;
  else if (!target.databases.empty())
    options.database = target.databases.front();
  options.connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(target.connect_timeout);
  options.statement_timeout = std::max(options.connect_timeout, std::chrono::seconds(1));
  return options;
}

}  // namespace dbkeeper
