#include "backup/repository.h"

#include "backup/untrusted_input.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <mutex>
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
constexpr const char* k_state = "state.json";    // <target>/: attempt counters
constexpr const char* k_attempt = ".attempt";    // inside a partial backup: its type
constexpr const char* k_deleting = ".deleting";  // inside a backup being deleted
// Local staging of the directory artifacts of a backup made in a store.
constexpr const char* k_upload_prefix = ".upload-";

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

// Fills `backup.verification` from a verification.json.
void read_verification(const std::string& text, BackupEntry& backup, std::vector<std::string>* problems) {
  try {
    auto j = parse_untrusted_json(text, "verification of '" + backup.manifest.id + "'");
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

std::string verification_to_json(const VerificationRecord& record) {
  json j{{"result", record.result},
         {"passed", record.passed},
         {"restored", record.restored},
         {"started_at", format_utc(record.started_at)},
         {"finished_at", format_utc(record.finished_at)},
         {"duration_seconds", record.duration_seconds()},
         {"reason", record.reason}};
  return j.dump(2) + "\n";
}

// Counts a backup killed before it finished (its leftovers found later).
void count_killed_backup(const Repository& repository, const std::string& target, std::string type,
                         const std::string& id) {
  if (type != "full" && type != "incremental") type = "full";
  try {
    repository.update_state(target, [&](TargetState& state) {
      auto& counters = state.backups[type];
      ++counters.failure;
      ++counters.failures_by_reason["process"];
      counters.last_failure = type + " backup " + id + " was killed before it finished";
    });
  } catch (const std::exception& e) {
    spdlog::error("unable to count the killed {} backup {} of target '{}': {}", type, id, target, e.what());
  }
}

// A stored backup's objects by name ("manifest.json", "shop.sql.zst"), by id.
using StoredBackups = std::map<std::string, std::map<std::string, ObjectInfo>>;

StoredBackups stored_backups(const Storage& storage, const std::string& target) {
  StoredBackups backups;
  std::string prefix = target + "/backups/";
  for (auto& object : storage.list(prefix)) {
    std::string rest = object.key.substr(prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0) continue;
    backups[rest.substr(0, slash)][rest.substr(slash + 1)] = std::move(object);
  }
  return backups;
}

}  // namespace

struct Repository::ObjectCache {
  std::mutex mutex;
  std::map<std::string, CachedObject> objects;  // by key
};

std::string backup_id_for(TimePoint time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

// ------------------------------------------------------------ PartialBackup

PartialBackup::PartialBackup(std::string id, std::shared_ptr<Storage> storage, std::string prefix,
                             std::optional<TempDir> staging)
    : m_id(std::move(id)), m_storage(std::move(storage)), m_prefix(std::move(prefix)), m_staging(std::move(staging)) {
  // A store whose objects are files here (the local repository) takes
  // pg_dump's directory artifacts in place; another one after staging.
  auto in_place = m_storage->local_path(m_prefix.substr(0, m_prefix.size() - 1));
  if (in_place) m_directory = *in_place;
  m_artifacts = std::make_unique<ObjectArtifactStore>(*m_storage, m_prefix, in_place ? *in_place : m_staging->path(),
                                                      in_place.has_value());
}

PartialBackup::PartialBackup(PartialBackup&& other) noexcept
    : m_id(std::move(other.m_id)),
      m_storage(std::move(other.m_storage)),
      m_prefix(std::move(other.m_prefix)),
      m_directory(std::exchange(other.m_directory, {})),
      m_artifacts(std::move(other.m_artifacts)),
      m_staging(std::move(other.m_staging)),
      m_committed(std::exchange(other.m_committed, true)) {}

PartialBackup::~PartialBackup() {
  if (m_committed || !m_storage) return;
  // What a failed backup wrote goes again; what a killed one wrote, the
  // next backup of the target removes (Repository::remove_partial_backups).
  try {
    std::vector<std::string> keys;
    for (const auto& object : m_storage->list(m_prefix))
      if (object.key != m_prefix + k_attempt) keys.push_back(object.key);
    m_storage->remove(keys);
    m_storage->remove({m_prefix + k_attempt});
    std::error_code ignored;
    if (!m_directory.empty()) fs::remove_all(m_directory, ignored);  // the writers' temporary files too
  } catch (const std::exception& e) {
    spdlog::warn("unable to remove what the failed backup {} wrote to {} (the next backup will): {}", m_id,
                 m_storage->describe(), e.what());
  }
}

fs::path PartialBackup::commit(const BackupManifest& manifest) {
  std::string text = manifest_to_json(manifest);
  // The copy first: whenever manifest.json exists, so does its copy.
  write_object(*m_storage, m_prefix + k_manifest_copy, text);
  write_object(*m_storage, m_prefix + k_manifest, text);
  m_committed = true;
  try {
    m_storage->remove({m_prefix + k_attempt});
  } catch (const std::exception& e) {
    spdlog::warn("backup {} is complete; its attempt marker stays until the next backup: {}", m_id, e.what());
  }
  return m_directory;
}

// --------------------------------------------------------------- Repository

Repository::Repository(fs::path root) : Repository(std::move(root), {}) {}

Repository::Repository(fs::path root, std::map<std::string, BackupStore> stores)
    : m_root(std::move(root)),
      m_stores(std::move(stores)),
      m_local{"local", posix_storage_at(m_root)},
      m_cache(std::make_shared<ObjectCache>()) {}

fs::path Repository::target_directory(const std::string& target) const {
  return m_root / target;
}

const BackupStore* Repository::remote_store(const std::string& target) const {
  auto it = m_stores.find(target);
  return it == m_stores.end() ? nullptr : &it->second;
}

const BackupStore& Repository::store_of(const std::string& target) const {
  const auto* remote = remote_store(target);
  return remote ? *remote : m_local;
}

std::string Repository::read_cached(const Storage& storage, const ObjectInfo& object) const {
  {
    std::lock_guard lock(m_cache->mutex);
    auto it = m_cache->objects.find(object.key);
    if (it != m_cache->objects.end() && it->second.size == object.size && it->second.modified == object.modified)
      return it->second.text;
  }
  std::string text = read_object(storage, object.key);
  std::lock_guard lock(m_cache->mutex);
  m_cache->objects[object.key] = CachedObject{object.size, object.modified, text};
  return text;
}

std::size_t Repository::remove_stored_leftovers(const BackupStore& store, const std::string& target) const {
  std::size_t removed = 0;
  for (const auto& [id, objects] : stored_backups(*store.storage, target)) {
    bool legacy = id.ends_with(k_partial_suffix) || id.ends_with(k_deleting_suffix);
    bool attempt = objects.count(k_attempt) > 0;
    bool complete = !legacy && objects.count(k_manifest) > 0 && !objects.count(k_deleting);
    if (complete) {
      // Killed between its manifest and the removal of its marker: complete.
      if (attempt) store.storage->remove({objects.at(k_attempt).key});
      continue;
    }
    if (!legacy && !attempt && !objects.count(k_deleting)) continue;  // damaged, not ours to remove
    std::vector<std::string> keys;
    for (const auto& [name, object] : objects)
      if (name != k_attempt && name != k_deleting) keys.push_back(object.key);
    if (attempt) {
      // A backup killed before it finished (SIGKILL, power loss, its store
      // gone): never counted, so counted now.
      std::string noted = read_object(*store.storage, objects.at(k_attempt).key);
      std::string backup_id = legacy ? id.substr(0, id.size() - std::string_view(k_partial_suffix).size()) : id;
      count_killed_backup(*this, target, noted.substr(0, noted.find('\n')), backup_id);
      spdlog::info("removing backup {} of target '{}' from repository '{}': it was interrupted", backup_id, target,
                   store.name);
      keys.push_back(objects.at(k_attempt).key);
    } else {
      spdlog::info("finishing the deletion of backup {} of target '{}' in repository '{}'", id, target, store.name);
    }
    store.storage->remove(keys);
    if (objects.count(k_deleting)) store.storage->remove({objects.at(k_deleting).key});
    ++removed;
  }
  // Holding the target's lock, no other backup writes there.
  removed += store.storage->remove_abandoned_writes(target + "/backups/");
  return removed;
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
  std::size_t removed = remove_stored_leftovers(store_of(target), target);
  // Staging directories of directory artifacts a killed backup was storing.
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(target_directory(target), ignored))
    if (entry.path().filename().string().starts_with(k_upload_prefix)) {
      spdlog::info("removing '{}' left by an interrupted backup", entry.path().string());
      fs::remove_all(entry.path(), ignored);
    }
  return removed;
}

std::size_t Repository::clean_up_interrupted(const std::string& target) const {
  fs::path directory = target_directory(target);
  if (!fs::exists(directory / "backups") && !remote_store(target)) return 0;
  fs::create_directories(directory);
  auto lock = LockFile::try_acquire(directory / "lock", "cleanup");
  if (!lock) return 0;
  return remove_partial_backups(target);
}

PartialBackup Repository::begin_backup(const std::string& target, TimePoint now, const std::string& type) const {
  fs::create_directories(target_directory(target) / "backups");
  const auto& store = store_of(target);
  // Ids are per second; a second backup within the same second takes the next one.
  std::string newest;
  for (const auto& [id, objects] : stored_backups(*store.storage, target))
    newest = std::max(newest, id.substr(0, id.find('.')));
  std::string id = backup_id_for(now);
  while (id <= newest) {
    now += std::chrono::seconds(1);
    id = backup_id_for(now);
  }
  std::string prefix = target + "/backups/" + id + "/";
  // Noted first, so that a backup killed before it finished is found and counted.
  write_object(*store.storage, prefix + k_attempt, type + "\n");
  std::optional<TempDir> staging;
  if (!store.storage->local_path(prefix + k_attempt)) staging.emplace(target_directory(target), k_upload_prefix);
  return PartialBackup(id, store.storage, prefix, std::move(staging));
}

std::vector<BackupEntry> backups_in(const Storage& storage, const std::string& target, const std::string& where,
                                    const std::function<std::string(const ObjectInfo&)>& read,
                                    std::vector<std::string>* problems) {
  std::vector<BackupEntry> entries;
  for (const auto& [id, objects] : stored_backups(storage, target)) {
    // Being written or deleted, or left so by an interrupted run: no backup.
    if (id.ends_with(k_partial_suffix) || id.ends_with(k_deleting_suffix) || objects.count(k_deleting)) continue;
    if (!objects.count(k_manifest) && objects.count(k_attempt)) continue;
    // manifest.json, or its copy when it is damaged (or lost).
    std::optional<BackupManifest> manifest;
    std::string failure;
    for (const char* name : {k_manifest, k_manifest_copy}) {
      auto object = objects.find(name);
      if (object == objects.end()) {
        failure = std::string(name) + " is missing";
        continue;
      }
      try {
        manifest = manifest_from_json(read(object->second));
        if (manifest->id != id)
          throw Error(ErrorKind::integrity, "it names backup '" + manifest->id + "'; refused as tampering");
        break;
      } catch (const Error& e) {
        manifest.reset();
        failure = std::string(name) + ": " + e.what();
      }
    }
    if (!manifest) {
      if (problems) problems->push_back("backup '" + id + "'" + where + " skipped: " + failure);
      continue;
    }
    BackupEntry backup{{}, std::move(*manifest), std::nullopt};
    if (auto path = storage.local_path(target + "/backups/" + id)) backup.directory = *path;
    if (auto record = objects.find(k_verification); record != objects.end())
      read_verification(read(record->second), backup, problems);
    entries.push_back(std::move(backup));
  }
  return entries;
}

std::vector<BackupEntry> Repository::list(const std::string& target, std::vector<std::string>* problems) const {
  const auto& store = store_of(target);
  auto entries = backups_in(
      *store.storage, target, remote_store(target) ? " in repository '" + store.name + "'" : "",
      [&](const ObjectInfo& object) { return read_cached(*store.storage, object); }, problems);
  // Forget what is gone.
  std::string prefix = target + "/backups/";
  std::lock_guard lock(m_cache->mutex);
  for (auto it = m_cache->objects.lower_bound(prefix); it != m_cache->objects.end() && it->first.starts_with(prefix);) {
    bool listed = false;
    for (const auto& entry : entries) listed = listed || it->first.starts_with(prefix + entry.manifest.id + "/");
    it = listed ? std::next(it) : m_cache->objects.erase(it);
  }
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

void delete_stored_backup(Storage& storage, const std::string& target, const std::string& id) {
  std::string prefix = target + "/backups/" + id + "/";
  // Marked first, then the manifests: from then on it is no backup, and a
  // deletion cut short is finished later (finish_stored_deletions).
  write_object(storage, prefix + k_deleting, "");
  storage.remove({prefix + k_manifest, prefix + k_manifest_copy});
  std::vector<std::string> rest;
  for (const auto& object : storage.list(prefix))
    if (object.key != prefix + k_deleting) rest.push_back(object.key);
  storage.remove(rest);
  storage.remove({prefix + k_deleting});
}

std::size_t finish_stored_deletions(Storage& storage, const std::string& target) {
  std::size_t finished = 0;
  for (const auto& [id, objects] : stored_backups(storage, target))
    if (objects.count(k_deleting)) {
      delete_stored_backup(storage, target, id);
      ++finished;
    }
  return finished;
}

void Repository::delete_backup(const BackupEntry& entry) const {
  delete_stored_backup(*store_of(entry.manifest.target).storage, entry.manifest.target, entry.manifest.id);
}

void Repository::record_verification(const BackupEntry& entry, const VerificationRecord& record) const {
  const auto& store = store_of(entry.manifest.target);
  std::string key = entry.manifest.target + "/backups/" + entry.manifest.id + "/" + k_verification;
  if (record.result == "could-not-run" && store.storage->stat(key)) return;
  write_object(*store.storage, key, verification_to_json(record));
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
  std::string key = target + "/" + k_state;
  try {
    if (!m_local.storage->stat(key)) return state;
    state = target_state_from_json(read_object(*m_local.storage, key), target);
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
  write_object(*m_local.storage, target + "/" + k_state, j.dump(2) + "\n");
}

std::uint64_t Repository::stored_bytes(const std::string& target) const {
  std::uint64_t total = 0;
  for (const auto& object : store_of(target).storage->list(target + "/backups/")) total += object.size;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(target_directory(target) / "log", error);
       it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) break;
    if (it->is_regular_file(error)) total += it->file_size(error);
  }
  return total;
}

}  // namespace dbkeeper
