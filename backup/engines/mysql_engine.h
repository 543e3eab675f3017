#pragma once
#include <memory>

#include "backup/engine.h"
#include "core/mysql_connection.h"

namespace dbkeeper {

std::unique_ptr<Engine> make_mysql_engine();

// Connection options for a target; shared by everything that talks to MySQL.
MysqlConnectOptions mysql_connect_options(const Target& target);

}  // namespace dbkeeper
