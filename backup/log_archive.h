#pragma once
// The continuous log archive of a target: closed binlog files, each stored
// once, zstd-compressed and checksummed, beside the full backups.
//
//   <root>/<target>/log/           objects of the local repository's storage
//       binlog.000004.zst          one closed binary log, as the server wrote it
//       binlog.000004.json         its record; written (atomically) after the .zst
//       progress.json              the time up to which the archive is complete
//       log.lock                   held while an archive pass or a prune of it runs
//
// A segment exists exactly when its record does. Each record names the
// segment archived before it, so a gap (binary logs purged on the server
// before they were archived) is visible and never bridged.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backup/manifest.h"
#include "backup/pipeline/artifact_cipher.h"
#include "backup/pipeline/zstd_compressor.h"
#include "backup/storage/storage.h"
#include "core/lock_file.h"
#include "core/secret.h"
#include "core/temp_dir.h"

namespace dbkeeper {

class Repository;

// What an archive pass writes into the lock, so others can tell it from a prune.
inline constexpr const char* k_log_archive_pass = "log archive";
// Where a point-in-time restore decompresses the logs it replays, inside the
// archive directory; it holds "<dir>/lock" while it does.
inline constexpr const char* k_replay_directory_prefix = ".replay-";

struct LogSegment {
  std::string name;            // the server's file name, "binlog.000004"
  std::uint64_t sequence = 0;  // its numeric suffix
  std::string previous;        // the segment archived before it; empty where a chain starts
  TimePoint archived_at;
  // The server opened the log at this time (its format description event,
  // whole seconds): no event the log holds committed before it.
  TimePoint opened_at;
  // Every event in the segment was written before this time: the start of
  // the archive pass that closed it. Logs archived in one pass share it.
  TimePoint closed_before;
  ArtifactRecord artifact;  // "<name>.zst", format "binlog"
  // With encryption: HMAC of the record's text without it (metadata_mac.h).
  std::string mac;
  std::string stored_text;  // set when read: the record as stored, without its MAC
};

struct LogArchiveProgress {
  // Everything the server logged before this time is in the archive.
  TimePoint complete_until;
  // The server's active log and position right after that pass; an
  // unchanged position means nothing new was logged since.
  std::string active_file;
  std::uint64_t active_position = 0;
};

// The time a raw binary log file was opened, from its format description
// event; throws Error{integrity} when the file is not a binary log.
TimePoint binlog_opened_at(const std::filesystem::path& raw_file);

// "binlog.000004" -> 4; nullopt when the name has no numeric suffix.
std::optional<std::uint64_t> log_file_sequence(const std::string& name);

using LogSegmentCache = std::map<std::string, LogSegment>;

// One record's content (`<binlog>.json`); throws Error{integrity} naming
// `what` when it is not a record dbkeeper wrote.
LogSegment log_segment_from_json(const std::string& text, const std::string& what);

class LogArchive {
 public:
  LogArchive(const Repository& repository, const std::string& target);

  const std::filesystem::path& directory() const { return m_directory; }

  // Takes the archive's lock or throws Error{process} naming the holder.
  LockFile lock(const std::string& note) const;

  // True while an archive pass holds the lock (not a prune).
  bool pass_running() const;

  // Segments in sequence order. Unreadable records are skipped and named in `problems`.
  std::vector<LogSegment> segments(std::vector<std::string>* problems = nullptr) const;
  // The same, reading only records not in `cache` (by file name), which it
  // then holds exactly the records that exist: for callers that ask often.
  std::vector<LogSegment> segments(LogSegmentCache& cache, std::vector<std::string>* problems = nullptr) const;
  std::optional<LogArchiveProgress> progress() const;

  // Compresses the raw log file `source` into the archive (fsynced), then
  // writes its record. `segment.artifact` is filled in. The caller holds the lock.
  void store(const std::filesystem::path& source, LogSegment& segment, const CompressionSettings& settings,
             const Secret* encryption_key) const;
  void write_progress(const LogArchiveProgress& progress) const;
  // Record first, so a crash leaves an orphaned .zst, never a record without data.
  void remove(const LogSegment& segment) const;
  // Removes files no record names (left by a crash mid-store), and replay
  // directories of killed restores (unlocked, older than a minute). The
  // caller holds the lock.
  std::size_t remove_orphans() const;

  // Checks the segment's record (authenticate) and checksum and writes it,
  // decompressed, to `destination`.
  void extract(const LogSegment& segment, const std::filesystem::path& destination, const EncryptionKeys& keys) const;

  // With `keys`: throws Error{integrity} unless the segment's record is
  // authentic (its MAC matches one of them; or, without a MAC, it is a
  // plain segment archived before the target's first keyed backup).
  void authenticate(const LogSegment& segment, const EncryptionKeys& keys) const;

 private:
  std::filesystem::path m_directory;
  std::shared_ptr<Storage> m_storage;  // the local repository's
  std::string m_prefix;                // "<target>/log/"
};

// A directory beside the archive (on the repository's filesystem) for
// binlogs decompressed for a replay, locked for as long as it exists: an
// archive pass removes only replay directories nobody holds, left by a
// restore that was killed.
class ReplayDirectory {
 public:
  explicit ReplayDirectory(const LogArchive& archive);
  const std::filesystem::path& path() const { return m_directory.path(); }

 private:
  TempDir m_directory;
  std::optional<LockFile> m_in_use;
};

}  // namespace dbkeeper
