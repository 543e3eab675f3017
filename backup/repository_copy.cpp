#include "backup/repository_copy.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "backup/log_archive.h"
#include "backup/pipeline/file_sink.h"
#include "backup/untrusted_input.h"
#include "core/atomic_file.h"
#include "core/lock_file.h"

namespace dbkeeper {
namespace {

constexpr const char* k_manifest = "manifest.json";
constexpr const char* k_manifest_copy = "manifest.copy.json";
// With encryption: names the first keyed backup; a copy without it could
// not authenticate the manifests.
constexpr const char* k_encryption_marker = "encryption.json";

std::filesystem::path status_path(const Repository& local, const std::string& target, const std::string& name) {
  return local.target_directory(target) / "copies" / (require_plain_name(name, "repository name") + ".json");
}

std::string format_time(std::optional<TimePoint> time) {
  return time ? format_utc(*time) : std::string();
}

std::optional<TimePoint> parse_time(const nlohmann::json& json, const char* key) {
  if (!json.contains(key) || !json[key].is_string() || json[key].get<std::string>().empty()) return std::nullopt;
  return parse_utc(json[key].get<std::string>());
}

void write_status(const Repository& local, const std::string& target, const std::string& name,
                  const CopyStatus& status) {
  nlohmann::json json{{"last_success", format_time(status.last_success)},
                      {"last_attempt", format_time(status.last_attempt)},
                      {"oldest_pending", format_time(status.oldest_pending)},
                      {"copied_backups", status.copied_backups},
                      {"copied_segments_through", status.copied_segments_through},
                      {"bytes_sent_total", status.bytes_sent_total},
                      {"failures_total", status.failures_total},
                      {"last_failure", status.last_failure}};
  auto path = status_path(local, target, name);
  std::filesystem::create_directories(path.parent_path());
  write_file_atomically(path, json.dump(2) + "\n", 0640);
}

// Whether the destination has `key`; a destination that cannot answer has not.
bool destination_has(const Storage& destination, const std::string& key) {
  try {
    return destination.stat(key).has_value();
  } catch (const std::exception&) {
    return false;
  }
}

class Copier {
 public:
  Copier(Storage& destination, CopyReport& report) : m_destination(destination), m_report(report) {}

  // Sends `object` of `source` as `key`, the same way.
  void relay(const Storage& source, const ObjectInfo& object, const std::string& key) {
    if (auto there = m_destination.stat(key); there && there->size == object.size) return;
    auto writer = m_destination.create(key);
    source.read(object.key, *writer);  // finish() commits
    m_report.bytes_sent += object.size;
  }

  // Sends `file` as `key` unless an object of its size is there already.
  void send(const std::filesystem::path& file, const std::string& key) {
    auto size = std::filesystem::file_size(file);
    if (auto there = m_destination.stat(key); there && there->size == size) return;
    auto writer = m_destination.create(key);
    pump_file(file, *writer);  // finish() commits
    m_report.bytes_sent += size;
  }

 private:
  Storage& m_destination;
  CopyReport& m_report;
};

}  // namespace

std::vector<std::string> copy_destinations(const Target& target) {
  std::vector<std::string> names;
  if (!target.primary_repository.empty()) names.push_back(target.primary_repository);
  names.insert(names.end(), target.copies_to.begin(), target.copies_to.end());
  return names;
}

CopyStatus read_copy_status(const Repository& local, const std::string& target, const std::string& repository_name) {
  CopyStatus status;
  try {
    auto text = read_repository_file(status_path(local, target, repository_name));
    if (!text) return status;
    auto json = parse_untrusted_json(*text, "copy status of " + repository_name);
    status.last_success = parse_time(json, "last_success");
    status.last_attempt = parse_time(json, "last_attempt");
    status.oldest_pending = parse_time(json, "oldest_pending");
    status.bytes_sent_total = json.value("bytes_sent_total", std::uint64_t{0});
    if (json.contains("copied_backups") && json["copied_backups"].is_array())
      for (const auto& id : json["copied_backups"])
        if (id.is_string()) status.copied_backups.insert(id.get<std::string>());
    status.copied_segments_through = json.value("copied_segments_through", std::uint64_t{0});
    status.failures_total = json.value("failures_total", std::uint64_t{0});
    status.last_failure = json.value("last_failure", "");
  } catch (const std::exception& e) {
    spdlog::warn("copy status of target '{}' to '{}' unreadable: {}", target, repository_name, e.what());
  }
  return status;
}

CopyReport copy_target(const Repository& local, const std::string& target, Storage& destination,
                       const std::string& repository_name) {
  auto started = std::chrono::system_clock::now();
  CopyReport report;
  report.repository = repository_name;
  // One copy pass per target and repository at a time.
  auto lock_path = local.target_directory(target) / "copies" / (repository_name + ".lock");
  std::filesystem::create_directories(lock_path.parent_path());
  auto lock = LockFile::try_acquire(lock_path);
  if (!lock) {
    // The pass that runs sends what this one would have.
    report.skipped = true;
    return report;
  }
  auto status = read_copy_status(local, target, repository_name);
  status.last_attempt = started;
  Copier copier(destination, report);
  try {
    // Readers' lock: prune does not delete a backup while it is copied.
    auto readers = local.lock_readers(target);
    const BackupStore& source = local.store_of(target);
    // The store the backups are made in gets the log segments only; a
    // backup may be writing under backups/ there right now.
    bool into_source = source.name == repository_name;
    // Holding the copy lock, nobody else writes under that prefix there.
    if (auto abandoned = destination.remove_abandoned_writes(target + (into_source ? "/log/" : "/")))
      spdlog::info("removed {} upload(s) a killed or failed copy of target '{}' left in '{}'", abandoned, target,
                   repository_name);
    auto marker = local.target_directory(target) / k_encryption_marker;
    if (std::filesystem::exists(marker)) copier.send(marker, target + "/" + k_encryption_marker);
    auto backups = local.list(target);
    std::set<std::string> local_ids;
    for (const auto& backup : backups) local_ids.insert(backup.manifest.id);
    std::erase_if(status.copied_backups, [&](const std::string& id) { return !local_ids.count(id); });
    for (const auto& backup : backups) {
      std::string prefix = target + "/backups/" + backup.manifest.id + "/";
      if (into_source) status.copied_backups.insert(backup.manifest.id);  // made there
      if (status.copied_backups.count(backup.manifest.id)) continue;
      if (destination.stat(prefix + k_manifest)) {
        status.copied_backups.insert(backup.manifest.id);
        continue;
      }
      // From the store the backup was made in, data first, the manifests last.
      std::vector<ObjectInfo> manifests;
      for (const auto& object : source.storage->list(prefix)) {
        std::string name = object.key.substr(prefix.size());
        if (name == k_manifest || name == k_manifest_copy)
          manifests.push_back(object);
        else if (!name.starts_with('.'))
          copier.relay(*source.storage, object, object.key);
      }
      // manifest.copy.json sorts before manifest.json.
      for (const auto& object : manifests) copier.relay(*source.storage, object, object.key);
      status.copied_backups.insert(backup.manifest.id);
      ++report.backups_copied;
    }
    LogArchive archive(local, target);
    for (const auto& segment : archive.segments()) {
      std::string record = segment.name + ".json";
      std::string prefix = target + "/log/";
      if (segment.sequence <= status.copied_segments_through) continue;
      if (!destination.stat(prefix + record)) {
        copier.send(archive.directory() / segment.artifact.name, prefix + segment.artifact.name);
        copier.send(archive.directory() / record, prefix + record);
        ++report.segments_copied;
      }
      status.copied_segments_through = segment.sequence;
    }
  } catch (const std::exception& e) {
    // Whatever is not there now is pending.
    for (const auto& backup : local.list(target))
      if (!status.copied_backups.count(backup.manifest.id) &&
          !destination_has(destination, target + "/backups/" + backup.manifest.id + "/" + k_manifest)) {
        ++report.backups_pending;
        if (!report.oldest_pending || backup.manifest.finished_at < *report.oldest_pending)
          report.oldest_pending = backup.manifest.finished_at;
      }
    status.oldest_pending = report.oldest_pending;
    status.bytes_sent_total += report.bytes_sent;
    ++status.failures_total;
    status.last_failure = e.what();
    write_status(local, target, repository_name, status);
    throw;
  }
  // Everything complete locally when the pass started is there now.
  status.last_success = started;
  status.oldest_pending.reset();
  status.bytes_sent_total += report.bytes_sent;
  write_status(local, target, repository_name, status);
  return report;
}

}  // namespace dbkeeper
