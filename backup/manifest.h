#pragma once
// The manifest of one backup: what was backed up, how, and the checksum of
// every artifact. It is written last; a backup exists exactly when its
// manifest does. The JSON carries a SHA-256 of its own content, and a second
// copy is kept beside it, so a damaged manifest is detected and recovered.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backup/database_description.h"

namespace dbkeeper {

using TimePoint = std::chrono::system_clock::time_point;

// One file of a directory artifact (pg_dump --format=directory).
struct ArtifactFile {
  std::string name;  // relative to the artifact's directory
  std::uint64_t raw_bytes = 0;
  std::uint64_t stored_bytes = 0;
  std::string sha256;
};

struct LogPosition {
  std::string binlog_file;  // MySQL/MariaDB
  std::uint64_t binlog_position = 0;
  std::string gtid;
  std::string wal_lsn;  // PostgreSQL
  bool empty() const { return binlog_file.empty() && gtid.empty() && wal_lsn.empty(); }
};

struct ArtifactRecord {
  std::string name;      // file name inside the backup directory
  std::string database;  // empty for server-wide artifacts (PostgreSQL globals)
  std::string format;    // "sql" (mariadb-dump), "pg_custom", "pg_globals_sql"
  std::string compression = "zstd";
  int compression_level = 3;
  std::uint64_t raw_bytes = 0;
  std::uint64_t stored_bytes = 0;
  std::string sha256;               // of the stored (compressed) bytes; for a directory, of its file list
  std::vector<ArtifactFile> files;  // set for directory artifacts only
  std::string encryption;           // "" or "aes-256-gcm" (backup/pipeline/artifact_cipher.h)
  // MySQL/MariaDB: each database is dumped in its own snapshot, so each has
  // its own binlog position; a replay into it starts there. The manifest's
  // log_position is the earliest of them.
  LogPosition log_position;
};

struct TableRecord {
  std::string name;  // MySQL: table; PostgreSQL: schema.table
  std::uint64_t rows = 0;
};

struct BackupManifest;

// Where a binlog replay into `artifact`'s database starts: its own
// snapshot's position, or the backup's for manifests written before
// artifacts had one.
const LogPosition& replay_start(const BackupManifest& full, const ArtifactRecord& artifact);

struct BackupManifest {
  static constexpr int k_format = 1;

  std::string id;
  std::string target;
  std::string engine;
  std::string server_product;
  std::string server_version;
  std::string type = "full";
  std::string parent;  // incremental: the backup (full or incremental) whose end it continues from
  std::string tool;
  std::string tool_version;
  TimePoint started_at;
  TimePoint finished_at;
  std::vector<std::string> databases;
  std::map<std::string, std::vector<TableRecord>> tables;  // by database
  std::vector<ArtifactRecord> artifacts;
  LogPosition log_position;
  std::string row_count_source;  // how the row counts were taken (see docs/repository.md)
  // By database: its properties and object inventory as the backup saw
  // them. Empty for backups taken before dbkeeper recorded them.
  std::map<std::string, DatabaseDescription> descriptions;
  // With encryption: HMAC of manifest_mac_text() (backup/metadata_mac.h).
  std::string mac;
  // Set when read: the canonical text of the document as stored (without
  // its MAC and checksum), which is what the MAC covers.
  std::string stored_text;

  double duration_seconds() const;
  std::uint64_t raw_bytes() const;
  std::uint64_t stored_bytes() const;
};

// JSON text with an embedded "checksum" over the rest.
std::string manifest_to_json(const BackupManifest& manifest);
// The canonical text a manifest's MAC covers: the stored document without
// its MAC and checksum (as read, or as it will be written).
std::string manifest_mac_text(const BackupManifest& manifest);
// Throws Error{integrity} when the text is not a manifest or its checksum is wrong.
BackupManifest manifest_from_json(const std::string& text);

// "2026-11-25T17:40:00.123Z" and back (UTC).
std::string format_utc(TimePoint time);
TimePoint parse_utc(const std::string& text);

}  // namespace dbkeeper
