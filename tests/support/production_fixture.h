#pragma once
// Databases that look like production, for proving copies faithful: what
// real schemas carry beyond rows (definers, SQL SECURITY, generated and
// invisible columns, system versioning, sequences, events, partitions,
// FULLTEXT and SPATIAL indexes, a non-default character set and a comment;
// for PostgreSQL several owning roles, domains, enums, partitions, RLS,
// materialized views, aggregates, procedures, identity columns, an
// extension, database settings, grants and a comment). And the independent
// fingerprints that compare a copy with its source.

#include <map>
#include <string>
#include <vector>

namespace dbkeeper::testing {

// The roles (PostgreSQL) and accounts (MariaDB) the fixtures use as owners
// and definers; created once per server.
inline constexpr const char* k_app_owner = "app_owner";
inline constexpr const char* k_reporting = "reporting";

void create_mariadb_production_fixture(const std::string& database);
void create_postgres_production_fixture(const std::string& database);

// Everything a copy must carry, read with the server's own words (SHOW
// CREATE, pg_get_*def, catalogs), with the database's own name taken out:
// "kind name" -> definition, plus "rows <table>" -> content digest (history
// rows included) and "database <property>" -> value.
std::map<std::string, std::string> mariadb_fingerprint(const std::string& database);
std::map<std::string, std::string> postgres_fingerprint(const std::string& database);

}  // namespace dbkeeper::testing
