#include "backup/log_archive.h"

#include "backup/metadata_mac.h"
#include "backup/untrusted_input.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "backup/dump_stream.h"
#include "backup/pipeline/file_sink.h"
#include "backup/pipeline/sha256_sink.h"
#include "backup/repository.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* k_progress = "progress.json";
constexpr const char* k_record_suffix = ".json";
constexpr const char* k_data_suffix = ".zst";
constexpr const char* k_partial_suffix = ".partial";

json segment_to_json(const LogSegment& s) {
  json j{{"name", s.name},
         {"sequence", s.sequence},
         {"previous", s.previous},
         {"archived_at", format_utc(s.archived_at)},
         {"opened_at", format_utc(s.opened_at)},
         {"closed_before", format_utc(s.closed_before)},
         {"file", s.artifact.name},
         {"format", s.artifact.format},
         {"compression", s.artifact.compression},
         {"compression_level", s.artifact.compression_level},
         {"raw_bytes", s.artifact.raw_bytes},
         {"stored_bytes", s.artifact.stored_bytes},
         {"sha256", s.artifact.sha256}};
  if (!s.artifact.encryption.empty()) j["encryption"] = s.artifact.encryption;
  return j;
}

LogSegment segment_from_json(const json& j) {
  LogSegment s;
  s.name = require_plain_name(j.at("name").get<std::string>(), "a log segment record");
  s.sequence = j.at("sequence").get<std::uint64_t>();
  s.previous = j.at("previous").get<std::string>();
  s.archived_at = parse_utc(j.at("archived_at").get<std::string>());
  // Without it (an older record) the log counts as opened at the epoch, so
  // a point-in-time plan includes it rather than skipping it.
  if (j.contains("opened_at")) s.opened_at = parse_utc(j.at("opened_at").get<std::string>());
  s.closed_before = parse_utc(j.at("closed_before").get<std::string>());
  s.artifact.name = require_plain_name(j.at("file").get<std::string>(), "log segment record '" + s.name + "'");
  s.artifact.format = j.at("format").get<std::string>();
  s.artifact.compression = j.at("compression").get<std::string>();
  s.artifact.compression_level = j.at("compression_level").get<int>();
  s.artifact.raw_bytes = j.at("raw_bytes").get<std::uint64_t>();
  s.artifact.stored_bytes = j.at("stored_bytes").get<std::uint64_t>();
  s.artifact.sha256 = j.at("sha256").get<std::string>();
  s.artifact.encryption = j.value("encryption", "");
  s.mac = j.value("mac", "");
  json covered = j;
  covered.erase("mac");
  s.stored_text = covered.dump();
  return s;
}

// Log file names come from the server; only plain names may become file names here.
void require_plain_name(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name.front() == '.' || name == k_progress)
    throw Error(ErrorKind::integrity, "refusing to archive a log file named '" + name + "'");
}

}  // namespace

TimePoint binlog_opened_at(const fs::path& raw_file) {
  // A binary log starts with the magic "\xfebin" and then the first event's
  // header, whose first field is its timestamp (seconds, little-endian).
  std::ifstream in(raw_file, std::ios::binary);
  unsigned char head[8] = {};
  if (!in.read(reinterpret_cast<char*>(head), sizeof head) || head[0] != 0xfe || head[1] != 'b' || head[2] != 'i' ||
      head[3] != 'n')
    throw Error(ErrorKind::integrity, "'" + raw_file.string() + "' is not a binary log");
  std::uint32_t seconds = head[4] | (head[5] << 8) | (head[6] << 16) | (static_cast<std::uint32_t>(head[7]) << 24);
  return std::chrono::system_clock::from_time_t(static_cast<std::time_t>(seconds));
}

std::optional<std::uint64_t> log_file_sequence(const std::string& name) {
  auto dot = name.find_last_of('.');
  if (dot == std::string::npos || dot + 1 == name.size()) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = dot + 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return value;
}

LogArchive::LogArchive(const Repository& repository, const std::string& target)
    : m_directory(repository.target_directory(target) / "log"),
      m_storage(repository.local_store().storage),
      m_prefix(target + "/log/") {}

LockFile LogArchive::lock(const std::string& note) const {
  std::error_code error;
  fs::create_directories(m_directory, error);
  if (error) throw Error(ErrorKind::io, "unable to create '" + m_directory.string() + "': " + error.message());
  auto lock = LockFile::try_acquire(m_directory / "log.lock", note);
  if (!lock) {
    auto holder = LockFile::holder(m_directory / "log.lock");
    throw Error(
        ErrorKind::process,
        "the log archive in '" + m_directory.string() + "' is busy" +
            (holder && holder->pid > 0 ? " (pid " + std::to_string(holder->pid) + ", " + holder->note + ")" : ""));
  }
  return std::move(*lock);
}

bool LogArchive::pass_running() const {
  auto holder = LockFile::holder(m_directory / "log.lock");
  return holder && holder->note == k_log_archive_pass;
}

std::vector<LogSegment> LogArchive::segments(std::vector<std::string>* problems) const {
  LogSegmentCache uncached;
  return segments(uncached, problems);
}

std::vector<LogSegment> LogArchive::segments(LogSegmentCache& cache, std::vector<std::string>* problems) const {
  std::vector<LogSegment> result;
  LogSegmentCache seen;
  for (const auto& object : m_storage->list(m_prefix)) {
    auto name = object.key.substr(m_prefix.size());
    // Replay and work directories below hold no records.
    if (!name.ends_with(k_record_suffix) || name == k_progress || name.find('/') != std::string::npos) continue;
    // Records are written once and never changed: a name seen before needs no second read.
    if (auto cached = cache.find(name); cached != cache.end()) {
      result.push_back(cached->second);
      seen.insert(*cached);
      continue;
    }
    try {
      result.push_back(log_segment_from_json(read_object(*m_storage, object.key), "log segment record '" + name + "'"));
      seen.emplace(name, result.back());
    } catch (const std::exception& e) {
      if (problems)
        problems->push_back("log segment record '" + (m_directory / name).string() + "' is unreadable: " + e.what());
    }
  }
  cache = std::move(seen);
  std::sort(result.begin(), result.end(),
            [](const LogSegment& a, const LogSegment& b) { return a.sequence < b.sequence; });
  return result;
}

std::optional<LogArchiveProgress> LogArchive::progress() const {
  auto path = m_directory / k_progress;
  if (!m_storage->stat(m_prefix + k_progress)) return std::nullopt;
  try {
    auto j = parse_untrusted_json(read_object(*m_storage, m_prefix + k_progress), "the log archive's progress");
    return LogArchiveProgress{parse_utc(j.at("complete_until").get<std::string>()),
                              j.at("active_file").get<std::string>(), j.at("active_position").get<std::uint64_t>()};
  } catch (const std::exception& e) {
    throw Error(ErrorKind::integrity, "'" + path.string() + "' is unreadable: " + e.what());
  }
}

void LogArchive::store(const fs::path& source, LogSegment& segment, const CompressionSettings& settings,
                       const Secret* encryption_key) const {
  require_plain_name(segment.name);
  segment.artifact.name = segment.name + k_data_suffix;
  segment.artifact.format = "binlog";
  {
    // Visible, whole and fsynced, only once finished; a failed one leaves nothing.
    ArtifactWriter writer(m_storage->create(m_prefix + segment.artifact.name), settings, encryption_key);
    pump_file(source, writer);
    writer.describe(segment.artifact);
  }
  json record = segment_to_json(segment);
  if (encryption_key) {
    segment.mac = metadata_mac(*encryption_key, "log record", record.dump());
    record["mac"] = segment.mac;
  }
  write_object(*m_storage, m_prefix + segment.name + k_record_suffix, record.dump(2) + "\n");
}

void LogArchive::write_progress(const LogArchiveProgress& progress) const {
  json j{{"complete_until", format_utc(progress.complete_until)},
         {"active_file", progress.active_file},
         {"active_position", progress.active_position}};
  write_object(*m_storage, m_prefix + k_progress, j.dump(2) + "\n");
}

void LogArchive::remove(const LogSegment& segment) const {
  require_plain_name(segment.name);
  m_storage->remove({m_prefix + segment.name + k_record_suffix});
  sync_directory(m_directory);
  m_storage->remove({m_prefix + segment.artifact.name});
}

std::size_t LogArchive::remove_orphans() const {
  std::set<std::string> named;
  for (const auto& segment : segments()) named.insert(segment.artifact.name);
  std::size_t removed = 0;
  std::error_code error;
  std::vector<fs::path> orphans;
  for (auto it = fs::directory_iterator(m_directory, error); !error && it != fs::directory_iterator();
       it.increment(error)) {
    auto name = it->path().filename().string();
    // ".pass-*": the work directory of a pass that was killed.
    if ((name.ends_with(k_data_suffix) && !named.contains(name)) || name.ends_with(k_partial_suffix) ||
        name.starts_with(".pass-"))
      orphans.push_back(it->path());
    // A restore creates its directory a moment before it locks it: only old, unlocked ones are left over.
    if (name.starts_with(k_replay_directory_prefix) && !LockFile::holder(it->path() / "lock")) {
      auto modified = fs::last_write_time(it->path(), error);
      if (!error && fs::file_time_type::clock::now() - modified > std::chrono::minutes(1))
        orphans.push_back(it->path());
      error.clear();
    }
  }
  for (const auto& path : orphans)
    if (fs::remove_all(path, error) > 0) ++removed;
  // Segments whose writer was killed before it finished.
  return removed + m_storage->remove_abandoned_writes(m_prefix);
}

void LogArchive::authenticate(const LogSegment& segment, const EncryptionKeys& keys) const {
  if (keys.empty()) return;
  std::string name = "the record of archived binary log '" + segment.name + "'";
  if (!segment.mac.empty()) {
    std::string text = segment.stored_text.empty() ? segment_to_json(segment).dump() : segment.stored_text;
    for (const Secret* key : keys)
      if (metadata_mac(*key, "log record", text) == segment.mac) return;
    throw Error(ErrorKind::integrity, name +
                                          " does not match its MAC: changed after it was written, or written "
                                          "with a key that is not configured; refused");
  }
  if (!segment.artifact.encryption.empty())
    throw Error(ErrorKind::integrity, name + " describes an encrypted log but carries no MAC; refused as tampering");
  auto since = encrypted_since(m_directory.parent_path(), keys);
  if (since && backup_id_for(segment.archived_at) >= *since)
    throw Error(ErrorKind::integrity, name +
                                          " carries no MAC though it was archived after encryption was turned "
                                          "on; refused as tampering");
}

void LogArchive::extract(const LogSegment& segment, const fs::path& destination, const EncryptionKeys& keys) const {
  authenticate(segment, keys);
  // One read: checked on its way to the file.
  try {
    FileSink file(destination);
    check_artifact(m_directory / segment.artifact.name, segment.artifact, keys, &file);
  } catch (const Error& e) {
    std::error_code ignored;
    fs::remove(destination, ignored);
    throw Error(e.kind(), "archived binary log '" + segment.name + "': " + e.what());
  }
}

namespace {

TempDir create_replay_directory(const LogArchive& archive) {
  std::filesystem::create_directories(archive.directory());
  return TempDir(archive.directory(), k_replay_directory_prefix);
}

}  // namespace

ReplayDirectory::ReplayDirectory(const LogArchive& archive)
    : m_directory(create_replay_directory(archive)),
      m_in_use(LockFile::try_acquire(m_directory.path() / "lock", "restore")) {}

LogSegment log_segment_from_json(const std::string& text, const std::string& what) {
  try {
    return segment_from_json(parse_untrusted_json(text, what));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::integrity, what + " is incomplete: " + e.what());
  }
}

}  // namespace dbkeeper
