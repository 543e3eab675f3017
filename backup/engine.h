#pragma once
// The one interface behind which each database engine lives. Callers pick an
// engine by name from the table in engine_registry.cpp and never name a
// concrete engine themselves.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backup/artifact_store.h"
#include "backup/log_archive.h"
#include "backup/manifest.h"
#include "backup/pipeline/zstd_compressor.h"
#include "backup/scratch_instance.h"
#include "backup/target.h"

namespace dbkeeper {

struct ServerIdentity {
  std::string product;  // "MariaDB", "MySQL", "PostgreSQL"
  std::string version;
};

// Where a dump writes: the backup's artifacts (a local directory or the
// primary repository's store) and a private (0700) directory for
// credential files.
struct BackupWorkspace {
  ArtifactStore& artifacts;
  std::filesystem::path private_directory;
  CompressionSettings compression;
};

// What a full dump produced; the backup job turns it into the manifest.
struct DumpResult {
  ServerIdentity server;
  std::string tool;
  std::string tool_version;
  std::vector<std::string> databases;
  std::map<std::string, std::vector<TableRecord>> tables;
  std::vector<ArtifactRecord> artifacts;
  LogPosition position;
  std::string row_count_source;
  std::map<std::string, DatabaseDescription> descriptions;  // by database
};

// What a restore into one database carried, and what it could not.
struct RestoreOutcome {
  CopyScope scope;                 // what a comparison with the backup may expect of the copy
  std::vector<std::string> notes;  // what the copy does not carry, one sentence each
};

// What one log archive pass did and where the archive now stands.
struct LogArchivePass {
  std::vector<LogSegment> stored;
  LogArchiveProgress progress;
  bool rotated = false;  // the server was asked to close its active log
};

// Replays log files into a restored database, from the full backup's
// position up to (not including) `until`, or up to `stop` (a position in
// the last file: an incremental backup's end).
struct LogReplay {
  std::vector<std::filesystem::path> files;  // decompressed, in order
  LogPosition start;                         // position in the first file
  TimePoint until;
  std::string from_database;  // the database as the logs name it
  std::string to_database;    // where its changes go
  std::optional<LogPosition> stop;
};

// One line of `dbkeeper check`: whether the target is ready for one thing
// its configuration asks of it, and if not, why and what to do.
struct CheckResult {
  std::string check;  // short, stable: "connect", "privileges", "binlog", ... (a metric label)
  bool ok = false;
  std::string detail;  // ok: what was found; failed: the reason and the fix
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Connects with the target's timeout, runs a trivial statement and returns
  // what answered. Throws Error{connection} (or {query}) with the server's message.
  virtual ServerIdentity probe(const Target& target) const = 0;

  // A full logical dump of the target's databases (all user databases when
  // the target lists none), one artifact per database, into `workspace`.
  virtual DumpResult dump_full(const Target& target, const BackupWorkspace& workspace) const = 0;

  virtual bool database_exists(const Target& target, const std::string& database) const = 0;
  // Creates `database` with the recorded properties that must be set at
  // creation (character set, collation, comment; encoding, locale).
  virtual void create_database(const Target& target, const std::string& database,
                               const DatabaseProperties& properties) const = 0;
  virtual void drop_database(const Target& target, const std::string& database) const = 0;
  // Puts `replacement` (a complete, verified copy) under `name`, and what
  // was under `name` under `previous`, so that the name holds either the
  // old database or the new one. PostgreSQL: the sessions of `name` are
  // ended, then both renames commit in one transaction. MariaDB/MySQL:
  // engines/mysql_database_swap.h.
  virtual void swap_databases(const Target& target, const std::string& name, const std::string& replacement,
                              const std::string& previous) const = 0;

  // Databases whose name starts with `prefix` (leftover scratch databases).
  virtual std::vector<std::string> databases_with_prefix(const Target& target, const std::string& prefix) const = 0;

  // Loads one database artifact (already checksummed) into the existing,
  // empty `database`, and gives it the rest of the recorded properties
  // (owner, settings, privileges) as [target.restore] says. `recorded` is
  // what the backup saw (empty for backups from before it was recorded).
  virtual RestoreOutcome restore_artifact(const Target& target, const ArtifactRecord& artifact,
                                          const std::filesystem::path& file, const std::string& database,
                                          const std::filesystem::path& private_directory,
                                          const DatabaseDescription& recorded) const = 0;

  // Gives a new scratch instance what loading the databases of a full
  // backup (its `artifacts`, checksummed, in `directory`) needs of the
  // server beyond them: PostgreSQL the roles that own and are granted
  // objects (the globals artifact), MariaDB the accounts DEFINER clauses
  // name (created locked).
  virtual void prepare_scratch_instance(const Target& instance, const std::vector<ArtifactRecord>& artifacts,
                                        const std::filesystem::path& directory,
                                        const std::filesystem::path& private_directory) const = 0;

  // How this host runs a throwaway server like the target's
  // (backup/scratch_instance.h). Throws Error{process} saying why it
  // cannot (a server of another version, no server binaries installed),
  // or Error{connection} when the target does not answer.
  virtual std::unique_ptr<ScratchServerRecipe> scratch_server(const Target& target) const = 0;

  // The properties and object inventory of `database` as it is now.
  virtual DatabaseDescription describe_database(const Target& target, const std::string& database) const = 0;

  // One pass of continuous log archiving: closes the server's active log
  // when anything was logged since the last pass, and stores every closed
  // log not yet archived. With an empty archive it starts at the first of
  // `start_files` (the full backups' log files, oldest first) the server
  // still has. Throws Error{config} for an engine that cannot archive.
  virtual LogArchivePass archive_logs(const Target& target, const LogArchive& archive,
                                      const std::vector<std::string>& start_files,
                                      const BackupWorkspace& workspace) const = 0;

  // Applies `replay` to the restored database. Throws Error{config} for an
  // engine that cannot.
  virtual void replay_logs(const Target& target, const LogReplay& replay,
                           const std::filesystem::path& private_directory) const = 0;

  // The changes since `parent` (a full or incremental backup of the same
  // target) up to a consistent point, as the binary logs that hold them
  // (one artifact each), with every table's row count at that point.
  // Throws Error{config} for an engine that cannot.
  virtual DumpResult dump_incremental(const Target& target, const BackupManifest& parent,
                                      const BackupWorkspace& workspace) const = 0;

  // Whether the server is ready for the jobs the target's configuration
  // schedules: privileges, server settings, client tools. Never throws for
  // a server that cannot be reached: that is the failed "connect" check.
  virtual std::vector<CheckResult> check_server(const Target& target) const = 0;

  // Base tables of `database` and their exact row counts.
  virtual std::vector<TableRecord> count_rows(const Target& target, const std::string& database) const = 0;
};

struct EngineDefinition {
  std::string_view name;
  std::string_view description;
  unsigned default_port;
  bool archives_logs;                      // supports log = "continuous" and restore --until
  std::string_view no_log_archive_reason;  // why not, when it does not
  bool incremental_backups;                // supports --type incremental
  std::string_view no_incremental_reason;  // why not, when it does not
  std::unique_ptr<Engine> (*create)();
};

std::span<const EngineDefinition> engine_definitions();
// nullptr when no engine has that name.
const EngineDefinition* find_engine(std::string_view name);
// Throws Error{config} naming the known engines.
std::unique_ptr<Engine> create_engine(std::string_view name);
// Throws Error{config} with the engine's reason when the target's engine
// keeps no log archive (no --type log, no restore --until).
void require_log_archive(const Target& target);
// The same for incremental backups.
void require_incremental_backups(const Target& target);

}  // namespace dbkeeper
