#include "backup/engines/mysql_engine.h"

#include "core/error.h"

namespace dbkeeper {
namespace {

class MysqlEngine final : public Engine {
 public:
  ServerIdentity probe(const Target& target) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    auto version = connection.query("SELECT VERSION()").scalar().value_or("");
    std::string product = version.find("MariaDB") != std::string::npos ? "MariaDB" : "MySQL";
    return ServerIdentity{product, version};
  }
};

}  // namespace

std::unique_ptr<Engine> make_mysql_engine() {
  return std::make_unique<MysqlEngine>();
}

MysqlConnectOptions mysql_connect_options(const Target& target) {
  MysqlConnectOptions options;
  options.host = target.host;
  options.port = target.port;
  options.socket = target.socket;
  options.user = target.user;
  options.password = target.password.reveal();
  options.connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(target.connect_timeout);
  if (options.connect_timeout.count() < 1) options.connect_timeout = std::chrono::seconds(1);
  options.read_timeout = options.connect_timeout;
  return options;
}

}  // namespace dbkeeper
