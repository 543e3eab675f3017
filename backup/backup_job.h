#pragma once
// One full or incremental backup of one target, start to finish: lock, clean up after
// interrupted runs, dump every database through the pipeline, write the
// manifest, move the backup into place, count the attempt. On any failure
// the partial directory is removed and older backups are untouched.

#include <exception>
#include <string>

#include "backup/engine.h"
#include "backup/repository.h"
#include "backup/target.h"

namespace dbkeeper {

struct BackupReport {
  BackupManifest manifest;
  std::filesystem::path directory;
};

// The zstd settings of a target's [target.backup].
CompressionSettings compression_settings(const Target& target);

// Attempts whose outcome could not be written to the repository (its disk
// full or gone), counted in this process instead; the backup collector adds
// them to what the repository says.
TargetState unrecorded_attempts(const std::string& target);

// Counts one attempt of a backup type in state.json: a success when
// `failure` is null, a skip when it is TargetBusy, else a failure with its
// reason (in this process when the repository cannot be written). Never throws.
void record_backup_attempt(const Repository& repository, const std::string& target, const std::string& type,
                           TimePoint started, const std::exception* failure);

// Throws Error with the cause; the failure is already counted in the repository.
BackupReport run_full_backup(const Target& target, const Repository& repository,
                             const CompressionSettings& compression);

// The changes since the newest backup whose chain reaches a full backup.
// Without any full backup, takes a full one instead (and says so). Throws
// Error{config} before anything is counted for an engine without them.
BackupReport run_incremental_backup(const Target& target, const Repository& repository,
                                    const CompressionSettings& compression);

}  // namespace dbkeeper
