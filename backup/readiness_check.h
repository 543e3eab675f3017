#pragma once
// `dbkeeper check`: proves a target is ready for everything its
// configuration schedules, like `pgbackrest check`. The engine checks its
// server (connection, privileges, settings, tools); this adds what every
// target needs of the agent's host: a writable repository, room for the
// next backup, and the encryption key.

#include <vector>

#include "backup/engine.h"
#include "backup/repository.h"
#include "backup/storage/storage.h"

namespace dbkeeper {

std::vector<CheckResult> check_target(const Target& target, const Repository& repository);

// Whether the repository `name` (a copy's) takes, returns and deletes an
// object under the target's prefix with the configured credentials.
CheckResult check_copy_repository(const Target& target, const std::string& name, Storage& storage);

// The host part alone (also for a target whose server cannot be reached).
std::vector<CheckResult> check_repository(const Target& target, const Repository& repository);

}  // namespace dbkeeper
