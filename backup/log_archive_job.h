#pragma once
// One pass of continuous log archiving for one target (`dbkeeper backup
// TARGET --type log`, and every `log_archive_interval` in the daemon when
// `log = "continuous"`): lock the archive, clean up after a crashed pass,
// let the engine store every closed log, count the attempt as a backup of
// type "log". Archived segments are never touched by a later pass.

#include "backup/engine.h"
#include "backup/repository.h"
#include "backup/target.h"

namespace dbkeeper {

// Throws Error with the cause; the failure is already counted.
LogArchivePass run_log_archive(const Target& target, const Repository& repository,
                               const CompressionSettings& compression);

}  // namespace dbkeeper
