#pragma once
// One database server dbkeeper looks after, as the configuration describes
// it. Plain data: only agent/config knows how it is spelled in TOML.

#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/secret.h"

namespace dbkeeper {

struct TargetSchedule {
  // Cron expressions (validated), empty when not scheduled.
  std::string full;
  std::string incremental;
  std::string verify;
  std::string prune;
  bool continuous_log = false;  // log = "continuous"
};

struct TargetRetention {
  std::optional<int> full_count;
  std::optional<Duration> max_age;
};

struct TargetQueries {
  Duration slow_threshold = std::chrono::seconds(1);
  int top_n = 10;
  int top_tables = 10;  // largest tables exported per database
};

struct TargetMigrations {
  std::string database;
  std::string framework;
  std::string path;
};

struct TargetBackup {
  int compression_level = 3;
  int compression_threads = 0;  // zstd workers; 0 compresses inline (the dump tool already runs beside us)
  bool role_passwords = false;  // PostgreSQL: keep password hashes in the globals dump
  int parallel = 1;             // PostgreSQL: > 1 dumps and restores in directory format with --jobs
  // With log = "continuous": how often the active log is closed and archived,
  // so at most this much recent history is outside the archive.
  Duration log_archive_interval = std::chrono::minutes(1);
  // From encryption_key_file: artifacts and archived logs are encrypted
  // with keys derived from it (backup/pipeline/artifact_cipher.h).
  std::optional<Secret> encryption_key;
  // From previous_encryption_key_files: read, never written with, so
  // backups from before a key change stay restorable.
  std::vector<Secret> previous_encryption_keys;
};

// How restores (and verification restores) load a backup. PostgreSQL only:
// MariaDB/MySQL keep definers in the definitions and grants in `mysql`.
struct TargetRestore {
  // Who owns the restored objects: "keep" (as in the backup; the restoring
  // user must be a member of every owning role), "restoring-user" (the user
  // dbkeeper connects as), or the name of a role to own everything.
  std::string owner = "keep";
  bool privileges = true;  // keep GRANTs and the database's privileges (false: pg_restore --no-acl)
  // How long the database a `restore --force` replaced is kept (as
  // NAME_before_ID) before prune drops it.
  Duration keep_replaced = std::chrono::hours(24 * 7);
};

// Where verification restores load (backup/scratch_instance.h).
struct TargetVerify {
  // "auto": a scratch instance when this host has a server of the target's
  // version, otherwise the server; "instance"; "server".
  std::string into = "auto";
  std::string instance_directory;  // where scratch instances live; empty: the temp directory
};

struct Target {
  std::string name;
  std::string engine;  // a name from the engine table: mysql, mariadb, postgres
  std::string host;
  unsigned port = 0;
  std::string socket;  // MySQL: socket file; PostgreSQL: socket directory
  std::string user;
  Secret password;
  std::vector<std::string> databases;
  Duration connect_timeout = std::chrono::seconds(5);
  TargetBackup backup;
  TargetRestore restore;
  TargetVerify verify;
  TargetSchedule schedule;
  TargetRetention retention;
  TargetQueries queries;
  std::vector<TargetMigrations> migrations;
  // The [[repository]] the target's backups are made in, when its first
  // repository is not the local one (then its backups are streamed straight
  // into that store); empty: the local repository.
  std::string primary_repository;
  // The repositories the target's backups are copied to ([[repository]]
  // names), after the one where they are made.
  std::vector<std::string> copies_to;
  // Not configuration: set for a verification restore on the server.
  // MariaDB/MySQL sessions then start with SET SESSION sql_log_bin = 0, so
  // nothing they load reaches the binary log, the replicas or the archive.
  bool unlogged_session = false;
};

inline constexpr const char* k_unlogged_session_statement = "SET SESSION sql_log_bin = 0";

// The key to write and read the target's artifacts with, or null.
inline const Secret* encryption_key(const Target& target) {
  return target.backup.encryption_key ? &*target.backup.encryption_key : nullptr;
}

// Every key the target's artifacts may be read with, the current one first.
inline std::vector<const Secret*> decryption_keys(const Target& target) {
  std::vector<const Secret*> keys;
  if (target.backup.encryption_key) keys.push_back(&*target.backup.encryption_key);
  for (const auto& key : target.backup.previous_encryption_keys) keys.push_back(&key);
  return keys;
}

}  // namespace dbkeeper
