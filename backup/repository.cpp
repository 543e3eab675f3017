#include "backup/repository.h"

#include "backup/untrusted_input.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* k_partial_suffix = ".partial";
constexpr const char* k_deleting_suffix = ".deleting";
constexpr const char* k_manifest = "manifest.json";
constexpr const char* k_manifest_copy = "manifest.copy.json";
constexpr const char* k_verification = "verification.json";
constexpr const char* k_attempt = ".attempt";  // inside a partial backup: its type

std::optional<std::string> read_text(const fs::path& path) {
  return read_repository_file(path);
}

json counters_to_json(const RunCounters& c) {
  json j{{"success", c.success},
         {"failure", c.failure},
         {"last_failure", c.last_failure},
         {"failures_by_reason", c.failures_by_reason}};
  if (c.last_attempt) j["last_attempt"] = format_utc(*c.last_attempt);
  if (c.could_not_run > 0) j["could_not_run"] = c.could_not_run;
  if (c.skipped > 0) j["skipped"] = c.skipped;
  return j;
}

RunCounters counters_from_json(const json& j) {
  RunCounters c;
  c.success = j.value("success", std::uint64_t{0});
  c.failure = j.value("failure", std::uint64_t{0});
  c.could_not_run = j.value("could_not_run", std::uint64_t{0});
  c.skipped = j.value("skipped", std::uint64_t{0});
  c.last_failure = j.value("last_failure", "");
  if (j.contains("failures_by_reason") && j["failures_by_reason"].is_object())
    for (auto it = j["failures_by_reason"].begin(); it != j["failures_by_reason"].end(); ++it)
      c.failures_by_reason[it.key()] = it.value().get<std::uint64_t>();
  if (j.contains("last_attempt")) c.last_attempt = parse_utc(j["last_attempt"].get<std::string>());
  return c;
}

}  // namespace

std::string backup_id_for(TimePoint time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

// ------------------------------------------------------------ PartialBackup

PartialBackup::PartialBackup(std::string id, fs::path directory, fs::path final_directory)
    : m_id(std::move(id)), m_directory(std::move(directory)), m_final_directory(std::move(final_directory)) {}

PartialBackup::PartialBackup(PartialBackup&& other) noexcept
    : m_id(std::move(other.m_id)),
      m_directory(std::exchange(other.m_directory, {})),
      m_final_directory(std::move(other.m_final_directory)),
      m_committed(other.m_committed) {}

PartialBackup::~PartialBackup() {
  if (m_committed || m_directory.empty()) return;
  std::error_code ignored;
  fs::remove_all(m_directory, ignored);
}

fs::path PartialBackup::commit(const BackupManifest& manifest) {
  std::string text = manifest_to_json(manifest);
  std::error_code ignored;
  fs::remove(m_directory / k_attempt, ignored);  // only a partial backup needs it
  // The copy first: whenever manifest.json exists, so does its copy.
  write_file_atomically(m_directory / k_manifest_copy, text, 0640);
  write_file_atomically(m_directory / k_manifest, text, 0640);
  if (::rename(m_directory.c_str(), m_final_directory.c_str()) != 0)
    throw_system_error("unable to move '" + m_directory.string() + "' into place", errno);
  sync_directory(m_final_directory.parent_path());
  m_committed = true;
  return m_final_directory;
}

// --------------------------------------------------------------- Repository

Repository::Repository(fs::path root) : m_root(std::move(root)) {}

fs::path Repository::target_directory(const std::string& target) const {
  return m_root / target;
}

LockFile Repository::lock_readers(const std::string& target) const {
  fs::path directory = target_directory(target);
  fs::create_directories(directory);
  auto lock = LockFile::try_acquire_shared(directory / "readers.lock");
  if (!lock) throw TargetBusy(ErrorKind::process, "a prune of target '" + target + "' is deleting backups; try again");
  return std::move(*lock);
}

std::optional<LockFile> Repository::try_lock_out_readers(const std::string& target) const {
  fs::path directory = target_directory(target);
  fs::create_directories(directory);
  return LockFile::try_acquire(directory / "readers.lock", "prune");
}

LockFile Repository::lock_target(const std::string& target, const std::string& type) const {
  fs::path directory = target_directory(target);
  std::error_code error;
  fs::create_directories(directory / "backups", error);
  if (error) throw Error(ErrorKind::io, "unable to create '" + directory.string() + "': " + error.message());
  auto lock = LockFile::try_acquire(directory / "lock", type);
  if (!lock) {
    auto holder = LockFile::holder(directory / "lock");
    throw TargetBusy(ErrorKind::process,
                     "another backup of target '" + target + "' is running" +
                         (holder && holder->pid > 0 ? " (pid " + std::to_string(holder->pid) + ")" : ""));
  }
  return std::move(*lock);
}

std::optional<std::string> Repository::backup_running(const std::string& target) const {
  auto holder = LockFile::holder(target_directory(target) / "lock");
  if (!holder) return std::nullopt;
  return holder->note;
}

std::size_t Repository::remove_partial_backups(const std::string& target) const {
  std::size_t removed = 0;
  fs::path backups = target_directory(target) / "backups";
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(backups, error)) {
    if (entry.path().extension() != k_partial_suffix && entry.path().extension() != k_deleting_suffix) continue;
    spdlog::info("removing '{}' left by an interrupted {}", entry.path().string(),
                 entry.path().extension() == k_partial_suffix ? "backup" : "deletion");
    if (entry.path().extension() == k_partial_suffix) {
      // A failed backup removes its own partial directory; one left behind
      // was killed (SIGKILL, power loss) and never counted: count it now.
      auto noted = read_text(entry.path() / k_attempt);
      std::string type = noted ? noted->substr(0, noted->find('\n')) : "full";
      if (type != "full" && type != "incremental") type = "full";
      std::string id = entry.path().stem().string();
      try {
        update_state(target, [&](TargetState& state) {
          auto& counters = state.backups[type];
          ++counters.failure;
          ++counters.failures_by_reason["process"];
          counters.last_failure = type + " backup " + id + " was killed before it finished";
        });
      } catch (const std::exception& e) {
        spdlog::error("unable to count the killed {} backup {} of target '{}': {}", type, id, target, e.what());
      }
    }
    fs::remove_all(entry.path(), error);
    if (error) throw Error(ErrorKind::io, "unable to remove '" + entry.path().string() + "': " + error.message());
    ++removed;
  }
  return removed;
}

std::size_t Repository::clean_up_interrupted(const std::string& target) const {
  fs::path directory = target_directory(target);
  if (!fs::exists(directory / "backups")) return 0;
  auto lock = LockFile::try_acquire(directory / "lock", "cleanup");
  if (!lock) return 0;
  return remove_partial_backups(target);
}

PartialBackup Repository::begin_backup(const std::string& target, TimePoint now, const std::string& type) const {
  fs::path backups = target_directory(target) / "backups";
  fs::create_directories(backups);
  // Ids are per second; a second backup within the same second takes the next one.
  std::string newest;
  for (const auto& entry : fs::directory_iterator(backups)) newest = std::max(newest, entry.path().stem().string());
  std::string id = backup_id_for(now);
  while (id <= newest) {
    now += std::chrono::seconds(1);
    id = backup_id_for(now);
  }
  fs::path partial = backups / (id + k_partial_suffix);
  if (::mkdir(partial.c_str(), 0750) != 0) throw_system_error("unable to create '" + partial.string() + "'", errno);
  PartialBackup result(id, partial, backups / id);
  write_file_atomically(partial / k_attempt, type + "\n", 0640);
  return result;
}

std::vector<BackupEntry> Repository::list(const std::string& target, std::vector<std::string>* problems) const {
  std::vector<BackupEntry> entries;
  fs::path backups = target_directory(target) / "backups";
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(backups, error)) {
    if (!entry.is_directory() || entry.path().extension() == k_partial_suffix ||
        entry.path().extension() == k_deleting_suffix)
      continue;
    std::optional<BackupManifest> manifest;
    std::string failure;
    for (const char* name : {k_manifest, k_manifest_copy}) {
      auto text = read_text(entry.path() / name);
      if (!text) {
        failure = std::string(name) + " is missing";
        continue;
      }
      try {
        manifest = manifest_from_json(*text);
        break;
      } catch (const Error& e) {
        failure = std::string(name) + ": " + e.what();
      }
    }
    if (!manifest) {
      if (problems) problems->push_back("backup '" + entry.path().filename().string() + "' skipped: " + failure);
      continue;
    }
    BackupEntry backup{entry.path(), std::move(*manifest), std::nullopt};
    if (auto text = read_text(entry.path() / k_verification)) {
      try {
        auto j = parse_untrusted_json(*text, "verification of '" + backup.manifest.id + "'");
        VerificationRecord record;
        record.passed = j.at("passed");
        record.result = j.value("result", record.passed ? "passed" : "failed");
        record.restored = j.at("restored");
        record.started_at = parse_utc(j.at("started_at"));
        record.finished_at = parse_utc(j.at("finished_at"));
        record.reason = j.value("reason", "");
        backup.verification = record;
      } catch (const std::exception& e) {
        if (problems) problems->push_back("verification of '" + backup.manifest.id + "' unreadable: " + e.what());
      }
    }
    entries.push_back(std::move(backup));
  }
  std::sort(entries.begin(), entries.end(),
            [](const BackupEntry& a, const BackupEntry& b) { return a.manifest.id < b.manifest.id; });
  return entries;
}

BackupEntry Repository::find(const std::string& target, const std::string& id) const {
  auto entries = list(target);
  if (entries.empty()) throw Error(ErrorKind::config, "target '" + target + "' has no complete backup");
  if (id == "latest") return entries.back();
  for (auto& entry : entries)
    if (entry.manifest.id == id) return entry;
  throw Error(ErrorKind::config,
              "target '" + target + "' has no backup '" + id + "' (newest is '" + entries.back().manifest.id + "')");
}

std::vector<std::string> Repository::targets() const {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(m_root, error))
    // Hidden directories (.staging-*) are not targets.
    if (entry.is_directory() && !entry.path().filename().string().starts_with('.'))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void Repository::delete_backup(const BackupEntry& entry) const {
  fs::path doomed = entry.directory;
  doomed += k_deleting_suffix;
  if (::rename(entry.directory.c_str(), doomed.c_str()) != 0)
    throw_system_error("unable to retire backup '" + entry.directory.string() + "'", errno);
  sync_directory(entry.directory.parent_path());
  std::error_code error;
  fs::remove_all(doomed, error);
  if (error) throw Error(ErrorKind::io, "unable to remove '" + doomed.string() + "': " + error.message());
}

void Repository::record_verification(const BackupEntry& entry, const VerificationRecord& record) const {
  if (record.result == "could-not-run" && fs::exists(entry.directory / k_verification)) return;
  json j{{"result", record.result},
         {"passed", record.passed},
         {"restored", record.restored},
         {"started_at", format_utc(record.started_at)},
         {"finished_at", format_utc(record.finished_at)},
         {"duration_seconds", record.duration_seconds()},
         {"reason", record.reason}};
  write_file_atomically(entry.directory / k_verification, j.dump(2) + "\n", 0640);
}

TargetState target_state_from_json(const std::string& text, const std::string& target) {
  TargetState state;
  auto j = parse_untrusted_json(text, "state of target '" + target + "'");
  if (j.contains("backups") && j["backups"].is_object())
    for (auto it = j["backups"].begin(); it != j["backups"].end(); ++it)
      state.backups[it.key()] = counters_from_json(it.value());
  if (j.contains("verifications")) state.verifications = counters_from_json(j["verifications"]);
  return state;
}

TargetState Repository::read_state(const std::string& target) const {
  TargetState state;
  auto text = read_text(target_directory(target) / "state.json");
  if (!text) return state;
  try {
    state = target_state_from_json(*text, target);
  } catch (const std::exception& e) {
    spdlog::warn("state of target '{}' is unreadable, counting from zero: {}", target, e.what());
  }
  return state;
}

void Repository::update_state(const std::string& target, const std::function<void(TargetState&)>& change) const {
  fs::path directory = target_directory(target);
  fs::create_directories(directory);
  std::optional<LockFile> lock;
  for (int attempt = 0; attempt < 200 && !lock; ++attempt) {
    lock = LockFile::try_acquire(directory / "state.lock");
    if (!lock) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!lock) throw Error(ErrorKind::timeout, "state of target '" + target + "' stayed locked for 2 s");
  TargetState state = read_state(target);
  change(state);
  json backups = json::object();
  for (const auto& [type, counters] : state.backups) backups[type] = counters_to_json(counters);
  json j{{"backups", backups}, {"verifications", counters_to_json(state.verifications)}};
  write_file_atomically(directory / "state.json", j.dump(2) + "\n", 0640);
}

std::uint64_t Repository::stored_bytes(const std::string& target) const {
  std::uint64_t total = 0;
  for (const char* area : {"backups", "log"}) {
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(target_directory(target) / area, error);
         it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (error) break;
      if (it->is_regular_file(error)) total += it->file_size(error);
    }
  }
  return total;
}

}  // namespace dbkeeper
