#pragma once
// `dbkeeper check` for MariaDB/MySQL targets: privileges against
// backup/privileges.cpp, the binary log settings that log archiving and
// incrementals rely on, stored-program loading, and the client tools.

#include <set>
#include <string>
#include <vector>

#include "backup/engine.h"
#include "core/mysql_connection.h"

namespace dbkeeper {

std::vector<CheckResult> check_mysql_server(const Target& target);

// The global privileges of the connected account ("SELECT", "SUPER", ...),
// from information_schema.user_privileges.
std::set<std::string> global_privileges(MysqlConnection& connection);

}  // namespace dbkeeper
