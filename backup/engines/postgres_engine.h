#pragma once
#include <memory>

#include "backup/engine.h"
#include "core/postgres_connection.h"

namespace dbkeeper {

std::unique_ptr<Engine> make_postgres_engine();

// Connection options for a target and one of its databases (the first
// configured database, or "postgres", when `database` is empty).
PostgresConnectOptions postgres_connect_options(const Target& target, const std::string& database = {});

}  // namespace dbkeeper
