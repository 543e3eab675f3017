#pragma once
#include <memory>
#include <string>
#include <vector>

#include "backup/engine.h"
#include "core/mysql_connection.h"

namespace dbkeeper {

// `mariadb` picks mariadb-dump first; otherwise mysqldump first.
std::unique_ptr<Engine> make_mysql_engine(bool mariadb);

// Connection options for a target; shared by everything that talks to MySQL.
MysqlConnectOptions mysql_connect_options(const Target& target);

// Base tables of `database` and their exact row counts, read on
// `connection` (inside its transaction's snapshot when one is open).
std::vector<TableRecord> count_table_rows(MysqlConnection& connection, const std::string& database);

// The system-versioned tables of `database` with transaction-precise
// history, comma-separated ("" when none): mariadb-dump cannot dump theirs.
std::string transaction_precise_tables(MysqlConnection& connection, const std::string& database);

// A file name for a database name: safe characters kept, others as @xx.
std::string safe_file_name(const std::string& name);

}  // namespace dbkeeper
