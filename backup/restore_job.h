#pragma once
// Restores one database of a backup into a database on the target's server:
// a new one by default (an existing name is refused and nothing changes),
// or, with `force`, in place of an existing one. Artifacts are checksummed
// before anything is touched. This is also how a preview environment gets a
// copy of production. With `until`, the log archive is replayed on top of
// the full backup, to a point in time.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backup/repository.h"
#include "backup/target.h"

namespace dbkeeper {

struct RestoreRequest {
  std::string backup_id = "latest";
  std::string to_database;
  std::string from_database;  // which database of the backup; may be empty when it holds one
  bool force = false;         // replace an existing database: load a copy, prove it, swap, keep the old one
  // Point in time: restore the newest full backup that ended before its
  // second and replay the log archive up to (not including) that second.
  std::optional<TimePoint> until;
  // Never restored into, on top of the server's own (mysql, postgres, ...):
  // [agent] protected_databases, as fnmatch patterns.
  std::vector<std::string> protected_databases;
};

struct RestoreReport {
  std::string backup_id;
  std::string from_database;
  std::string to_database;
  std::size_t tables = 0;
  std::uint64_t rows = 0;
  std::optional<TimePoint> until;
  std::size_t log_segments = 0;  // archived logs replayed
  std::size_t incrementals = 0;  // incremental backups replayed after the full one
  double duration_seconds = 0;
  std::vector<std::string> notes;  // what the copy does not carry
  std::string previous_database;   // with force: where the replaced database is kept
};

// The server's own databases and those matching `patterns` (fnmatch).
bool is_protected_database(const std::string& name, const std::vector<std::string>& patterns);

// Where `restore --force` keeps the database it replaces:
// `<name>_before_<backup id>`, shortened to fit 63 bytes.
std::string previous_database_name(const std::string& name, const std::string& backup_id);

// What the backup recorded of `database`: the requested backup's record,
// else its full backup's, else nothing (backups from before it was recorded).
const DatabaseDescription& recorded_description(const BackupEntry& requested, const BackupEntry& full,
                                                const std::string& database);

// A database a `restore --force` replaced, kept under `database` until
// prune drops it ([target.restore] keep_replaced).
struct ReplacedDatabase {
  std::string database;
  std::string replaced;  // the name it had
  TimePoint at;
  std::filesystem::path record;
};
void record_replaced_database(const Repository& repository, const Target& target, const std::string& database,
                              const std::string& replaced);
std::vector<ReplacedDatabase> replaced_databases(const Repository& repository, const Target& target);

RestoreReport restore_backup(const Target& target, const Repository& repository, const RestoreRequest& request);

}  // namespace dbkeeper
