#pragma once
// Reading a target's backups back from another repository (a copy made by
// backup/repository_copy.h): list them from their manifests, and download
// what one restore needs into a local staging directory laid out as a
// local repository, where the restore, verify and point-in-time code runs
// unchanged. Object keys are input: each must be a plain key under the
// target's prefix, or it is refused as tampering.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backup/repository.h"
#include "backup/retention_plan.h"
#include "backup/storage/storage.h"

namespace dbkeeper {

// The complete backups the store holds for `target`, oldest first (a
// backup whose manifest cannot be read is skipped and named in `problems`).
std::vector<BackupEntry> list_copied_backups(const Storage& storage, const std::string& target,
                                             std::vector<std::string>* problems = nullptr);

// Downloads backup `id` ("latest" or an id) of `target`, the backups it
// continues from, the archived log segments and the encryption marker
// into `staging` (a repository root), manifests last. Returns the id.
// Throws Error{config} when the store has no such backup.
// With `until` and "latest": the newest backup finished by then instead.
std::string fetch_for_restore(const Storage& storage, const std::string& target, const std::string& id,
                              const std::filesystem::path& staging, std::optional<TimePoint> until = std::nullopt);

// A backup of a store fetched into <local_root>/.staging-XXXXXX, laid out
// as a local repository (removed with it).
struct StagedBackup {
  TempDir directory;
  Repository repository;
  std::string backup_id;
};
StagedBackup stage_backup(const Storage& storage, const std::string& target, const std::string& id,
                          const std::filesystem::path& local_root, std::optional<TimePoint> until = std::nullopt);

// Applies `policy` to the copies of `target` in `storage` (retention is per
// repository): deletions cut short are finished, each backup goes as
// delete_stored_backup() deletes it (it stops being a backup before its
// data goes), then the archived log segments no kept full backup needs.
// With `dry_run` it only decides. Backups and segments, in order.
std::vector<RetentionDecision> prune_copies(Storage& storage, const std::string& target, const RetentionPolicy& policy,
                                            TimePoint now, bool dry_run);

}  // namespace dbkeeper
