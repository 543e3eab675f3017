#pragma once
// Scratch instances of MariaDB (backup/scratch_instance.h): a mariadbd of
// the production server's version, on a private socket, without a binary
// log or networking, sized small.

#include <memory>

#include "backup/manifest.h"
#include "backup/scratch_instance.h"
#include "core/mysql_connection.h"

namespace dbkeeper {

// The recipe for a server like the one `production` answers on (read over
// `connection`). Throws Error{process} saying why this host cannot run one:
// a MySQL server, no mariadbd installed, or one of another version.
std::unique_ptr<ScratchServerRecipe> mysql_scratch_server(MysqlConnection& connection);

// Creates, locked, the accounts that DEFINER clauses in the dumps among
// `artifacts` (in `directory`) name, on the scratch instance `instance`.
void create_definer_accounts(const Target& instance, const std::vector<ArtifactRecord>& artifacts,
                             const std::filesystem::path& directory);

}  // namespace dbkeeper
