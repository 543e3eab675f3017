#pragma once
// Scratch instances of PostgreSQL (backup/scratch_instance.h): a cluster
// of the production server's major version, initialised for the occasion,
// reachable only on a private unix socket, without WAL archiving or
// durability, sized small.

#include <memory>

#include "backup/scratch_instance.h"
#include "core/postgres_connection.h"

namespace dbkeeper {

inline constexpr const char* k_scratch_superuser = "dbkeeper_scratch";

// The recipe for a server like the one `connection` is connected to.
// Throws Error{process} saying why this host cannot run one (no server
// binaries of that major version).
std::unique_ptr<ScratchServerRecipe> postgres_scratch_server(PostgresConnection& connection, int parallel);

}  // namespace dbkeeper
