#pragma once
// The properties and object inventory of one MariaDB/MySQL database, read
// from information_schema and SHOW CREATE (backup/database_description.h).

#include <string>

#include "backup/database_description.h"
#include "core/mysql_connection.h"

namespace dbkeeper {

DatabaseDescription describe_mysql_database(MysqlConnection& connection, const std::string& database);

}  // namespace dbkeeper
