#pragma once
// `dbkeeper check` for PostgreSQL targets: role attributes and memberships
// against backup/privileges.cpp, CONNECT on every database, the owners a
// restore with owner = "keep" must be able to become, and the client tools.

#include <vector>

#include "backup/engine.h"

namespace dbkeeper {

std::vector<CheckResult> check_postgres_server(const Target& target);

}  // namespace dbkeeper
