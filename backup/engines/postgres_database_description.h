#pragma once
// The properties and object inventory of the PostgreSQL database that
// `connection` is connected to, read from the catalogs (in the caller's
// snapshot, when it holds one; backup/database_description.h).

#include "backup/database_description.h"
#include "core/postgres_connection.h"

namespace dbkeeper {

DatabaseDescription describe_postgres_database(PostgresConnection& connection);

}  // namespace dbkeeper
