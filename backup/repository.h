#pragma once
// The backup repository on the local filesystem (layout: docs/repository.md).
//
//   <root>/<target>/lock                      held while a backup runs
//   <root>/<target>/state.json                attempt counters (runs_total)
//   <root>/<target>/backups/<id>/             one backup
//       <artifacts>                           written first
//       manifest.copy.json, manifest.json     written last
//       verification.json                     result of the newest verify
//       .attempt                              while it is written: its type
//       .deleting                             while it is deleted
//
// Backups are objects of a Storage (backup/storage/storage.h): the posix
// driver at <root> for the local repository, or the store of a target whose
// first repository is another one (an S3 bucket: its BackupStore), in the
// same layout. A backup exists when, and only when, its manifest.json does
// (written last, after its copy), without a .deleting marker; a backup cut
// short is never listed and is removed, and counted, by the next backup of
// that target. Locks, state, the log archive and the records of a target
// stay under the local root.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backup/artifact_store.h"
#include "backup/manifest.h"
#include "backup/storage/storage.h"
#include "core/error.h"
#include "core/lock_file.h"
#include "core/temp_dir.h"

namespace dbkeeper {

struct VerificationRecord {
  // "passed", "failed" (the backup is damaged or the copy differs), or
  // "could-not-run" (server down, a privilege missing: nothing was learnt
  // about the backup). A could-not-run attempt never replaces a record of a
  // verification that ran.
  std::string result = "failed";
  bool passed = false;
  bool restored = false;  // true for a verification restore, false for checksums only
  TimePoint started_at;
  TimePoint finished_at;
  std::string reason;  // why it failed; empty when passed
  double duration_seconds() const { return std::chrono::duration<double>(finished_at - started_at).count(); }
};

struct BackupEntry {
  std::filesystem::path directory;  // empty for a backup in a BackupStore
  BackupManifest manifest;
  std::optional<VerificationRecord> verification;
};

struct RunCounters {
  std::uint64_t success = 0;
  std::uint64_t failure = 0;
  std::uint64_t could_not_run = 0;  // verifications only
  std::uint64_t skipped = 0;        // backups refused because another one of the target held its lock
  std::optional<TimePoint> last_attempt;
  std::string last_failure;  // message of the newest failure
  // Failures by reason: the ErrorKind names of core/error.h ("connection",
  // "process", ...) and, for verifications, "integrity" for a failed check.
  std::map<std::string, std::uint64_t> failures_by_reason;
};

struct TargetState {
  std::map<std::string, RunCounters> backups;  // by backup type
  RunCounters verifications;
};

class Repository;

// The store a target's backups go to first, when it is not the local
// repository: a [[repository]] entry, opened once.
struct BackupStore {
  std::string name;  // the [[repository]] name, for messages
  std::shared_ptr<Storage> storage;
};

// Another backup (or prune) of the target holds its lock: nothing was
// attempted, so this is counted as skipped, never as a failure.
class TargetBusy : public Error {
 public:
  using Error::Error;
};

// A backup being written. Removed on destruction unless committed.
class PartialBackup {
 public:
  PartialBackup(PartialBackup&&) noexcept;
  PartialBackup& operator=(PartialBackup&&) = delete;
  ~PartialBackup();

  const std::string& id() const { return m_id; }
  // The backup's directory when its store keeps files here (the local
  // repository); empty for a remote store.
  const std::filesystem::path& directory() const { return m_directory; }
  // Where the engine writes the artifacts.
  ArtifactStore& artifacts() { return *m_artifacts; }
  // Writes both manifest objects, manifest.json last (each atomic and, on
  // posix, fsynced), and removes the attempt marker. Returns directory().
  std::filesystem::path commit(const BackupManifest& manifest);

 private:
  friend class Repository;
  PartialBackup(std::string id, std::shared_ptr<Storage> storage, std::string prefix, std::optional<TempDir> staging);
  std::string m_id;
  std::shared_ptr<Storage> m_storage;
  std::string m_prefix;  // "<target>/backups/<id>/"
  std::filesystem::path m_directory;
  std::unique_ptr<ArtifactStore> m_artifacts;
  std::optional<TempDir> m_staging;  // directory artifacts on their way to a remote store
  bool m_committed = false;
};

// state.json's content; throws Error{integrity} (or a JSON type error)
// when it is not one. Repository::read_state counts from zero then.
TargetState target_state_from_json(const std::string& text, const std::string& target);

class Repository {
 public:
  explicit Repository(std::filesystem::path root);
  // With the stores of the targets whose backups go elsewhere first, by target.
  Repository(std::filesystem::path root, std::map<std::string, BackupStore> stores);

  // The store `target`'s backups are made in when it is not the local
  // repository (they are fetched from it to be read); nullptr otherwise.
  const BackupStore* remote_store(const std::string& target) const;
  // The store `target`'s backups are in: remote_store(), or "local".
  const BackupStore& store_of(const std::string& target) const;
  // The posix driver at the root: the local repository, where the log
  // archive, the state and the records of every target are kept.
  const BackupStore& local_store() const { return m_local; }

  const std::filesystem::path& root() const { return m_root; }
  std::filesystem::path target_directory(const std::string& target) const;

  // Takes the target's backup lock or throws Error{process}:
  // "another backup of target 'shop' is running (pid 1234)".
  LockFile lock_target(const std::string& target, const std::string& type) const;
  // Held (shared) by every verification and restore while it reads the
  // target's backups; prune deletes only when it can take it alone.
  // Throws TargetBusy when a prune holds it.
  LockFile lock_readers(const std::string& target) const;
  // For prune: nullopt while a verification or restore reads.
  std::optional<LockFile> try_lock_out_readers(const std::string& target) const;
  // The type of the backup running now, if any.
  std::optional<std::string> backup_running(const std::string& target) const;

  // Removes the ".partial" directories of interrupted runs. The caller holds the lock.
  std::size_t remove_partial_backups(const std::string& target) const;

  // At agent start: removes the leftovers of killed backups unless a backup
  // of the target is running now. Returns how many were removed.
  std::size_t clean_up_interrupted(const std::string& target) const;

  // Creates `<id>.partial` for a new backup of `type`. The caller holds
  // the lock. The type is noted inside, so that a partial backup found
  // later (its run was killed) is counted as a failed attempt of that type.
  PartialBackup begin_backup(const std::string& target, TimePoint now, const std::string& type = "full") const;

  // Complete backups, oldest first. Damaged manifests fall back to their copy;
  // a backup with neither readable is skipped (and named in `problems`).
  std::vector<BackupEntry> list(const std::string& target, std::vector<std::string>* problems = nullptr) const;
  // "latest" or an id; throws Error{config} naming what exists.
  BackupEntry find(const std::string& target, const std::string& id) const;
  std::vector<std::string> targets() const;

  // Deletes a complete backup, crash-safely: the directory is first renamed
  // to "<id>.deleting" (from then on it is no backup), then removed. A
  // removal cut short is finished by remove_partial_backups().
  void delete_backup(const BackupEntry& entry) const;

  void record_verification(const BackupEntry& entry, const VerificationRecord& record) const;

  TargetState read_state(const std::string& target) const;
  // Read-modify-write of state.json under its own short lock.
  void update_state(const std::string& target, const std::function<void(TargetState&)>& change) const;

  std::uint64_t stored_bytes(const std::string& target) const;

 private:
  struct CachedObject {
    std::uint64_t size = 0;
    std::chrono::system_clock::time_point modified;
    std::string text;
  };
  struct ObjectCache;

  std::string read_cached(const Storage& storage, const ObjectInfo& object) const;
  std::size_t remove_stored_leftovers(const BackupStore& store, const std::string& target) const;

  std::filesystem::path m_root;
  std::map<std::string, BackupStore> m_stores;
  BackupStore m_local;  // the posix driver at m_root
  // Manifests and records of stored backups, by key: a collector lists the
  // store every interval but reads each manifest once.
  std::shared_ptr<ObjectCache> m_cache;
};

// The complete backups of `target` in `storage` (in the repository layout),
// oldest first; a backup whose manifests cannot be read is skipped and named
// in `problems` (with `where`). `read` reads a small object: a cache may
// answer.
std::vector<BackupEntry> backups_in(const Storage& storage, const std::string& target, const std::string& where,
                                    const std::function<std::string(const ObjectInfo&)>& read,
                                    std::vector<std::string>* problems);

// Deletes backup `id` of `target` from `storage` crash-safely: a .deleting
// marker first (from then on it is no backup), then the manifests, then
// the rest. finish_stored_deletions() completes those cut short; it
// returns how many.
void delete_stored_backup(Storage& storage, const std::string& target, const std::string& id);
std::size_t finish_stored_deletions(Storage& storage, const std::string& target);

// "20261125T174000Z": sortable, UTC, one per second.
std::string backup_id_for(TimePoint time);

}  // namespace dbkeeper
