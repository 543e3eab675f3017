#pragma once
// A database that exercises what a logical backup must carry: unicode text,
// NULLs, binary data, JSON, a view, a trigger, a stored function, a table
// named by a reserved word and a table outside the transactional engine.
// Plus helpers to compare two databases by content.

#include <map>
#include <string>
#include <vector>

#include "backup/target.h"

namespace dbkeeper::testing {

void create_mariadb_fixture(const std::string& database);
void create_postgres_fixture(const std::string& database);

// A large table (`rows` rows, ~200 bytes each) so dumps take long enough
// to be interrupted.
void create_mariadb_bulk(const std::string& database, int rows);
void create_postgres_bulk(const std::string& database, int rows);

// Per table: SHA-256 over its rows (as text, sorted).
std::map<std::string, std::string> mariadb_content(const std::string& database);
std::map<std::string, std::string> postgres_content(const std::string& database);

// Names of views, triggers and routines (functions) of a database, sorted.
std::vector<std::string> mariadb_objects(const std::string& database);
std::vector<std::string> postgres_objects(const std::string& database);

Target mariadb_target(const std::vector<std::string>& databases);
Target postgres_target(const std::vector<std::string>& databases);

}  // namespace dbkeeper::testing
