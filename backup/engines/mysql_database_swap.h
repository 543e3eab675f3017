#pragma once
// Replacing a MariaDB/MySQL database by a restored copy without dropping it
// first: MariaDB cannot rename a database, so every table moves in one
// RENAME TABLE statement (the old ones into `previous`, the copy's under
// `name`), and views, routines, triggers and events, which RENAME TABLE
// cannot carry across databases, are recreated around it from their SHOW
// CREATE text, with the sql_mode, character set and time zone they had.

#include <string>

#include "core/mysql_connection.h"

namespace dbkeeper {

void swap_mysql_databases(MysqlConnection& connection, const std::string& name, const std::string& replacement,
                          const std::string& previous);

}  // namespace dbkeeper
