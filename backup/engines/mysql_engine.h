#pragma once
#include <memory>
#include <string>

#include "backup/engine.h"
#include "core/mysql_connection.h"

namespace dbkeeper {

// `mariadb` picks mariadb-dump first; otherwise mysqldump first.
std::unique_ptr<Engine> make_mysql_engine(bool mariadb);

// Connection options for a target; shared by everything that talks to MySQL.
MysqlConnectOptions mysql_connect_options(const Target& target);

// A file name for a database name: safe characters kept, others as @xx.
std::string safe_file_name(const std::string& name);

}  // namespace dbkeeper
