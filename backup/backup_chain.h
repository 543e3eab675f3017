#pragma once
// Incremental backups continue from a parent; a restore needs the whole
// chain back to its full backup. Pure logic over the repository's list.

#include <optional>
#include <string>
#include <vector>

#include "backup/repository.h"

namespace dbkeeper {

// `last` and the backups it continues from, the full backup first. Links
// are the parent ids, checked against the binary log positions (a parent
// ends no later than its child), never against the clock. Throws
// Error{integrity} naming the missing link when a parent is gone, the
// links form a cycle, or the chain does not end in a full backup.
std::vector<BackupEntry> backup_chain(const std::vector<BackupEntry>& backups, const BackupEntry& last);

// The backup an incremental taken now continues from: the newest complete
// backup whose chain reaches a full backup. None when there is no full.
std::optional<BackupEntry> incremental_parent(const std::vector<BackupEntry>& backups);

}  // namespace dbkeeper
