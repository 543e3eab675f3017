#include "backup/repository_fetch.h"

#include <spdlog/spdlog.h>

#include "backup/backup_chain.h"
#include "backup/log_archive.h"
#include "backup/pipeline/file_sink.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

void download(const Storage& storage, const std::string& key, const std::filesystem::path& staging) {
  auto path = staging / require_plain_key(key);
  std::filesystem::create_directories(path.parent_path());
  std::filesystem::remove(path);
  FileSink sink(path);
  storage.read(key, sink);
}

// Every object under `prefix`, data first and the manifests (or records) after.
void download_prefix(const Storage& storage, const std::string& prefix, const std::filesystem::path& staging,
                     const std::vector<std::string>& last_suffixes) {
  std::vector<std::string> later;
  for (const auto& object : storage.list(prefix)) {
    require_plain_key(object.key);
    bool last = false;
    for (const auto& suffix : last_suffixes) last = last || object.key.ends_with(suffix);
    if (last)
      later.push_back(object.key);
    else
      download(storage, object.key, staging);
  }
  for (const auto& key : later) download(storage, key, staging);
}

}  // namespace

std::vector<BackupEntry> list_copied_backups(const Storage& storage, const std::string& target,
                                             std::vector<std::string>* problems) {
  return backups_in(
      storage, target, " in " + storage.describe(),
      [&](const ObjectInfo& object) { return read_object(storage, object.key); }, problems);
}

std::string fetch_for_restore(const Storage& storage, const std::string& target, const std::string& id,
                              const std::filesystem::path& staging, std::optional<TimePoint> until) {
  auto copies = list_copied_backups(storage, target);
  if (copies.empty())
    throw Error(ErrorKind::config, "target '" + target + "' has no complete backup in " + storage.describe());
  const BackupEntry* chosen = id == "latest" ? &copies.back() : nullptr;
  if (id == "latest" && until) {
    // The base a point-in-time restore starts from; the oldest when none
    // is old enough (the plan then names the window).
    chosen = &copies.front();
    for (const auto& entry : copies)
      if (entry.manifest.finished_at <= *until) chosen = &entry;
  }
  for (const auto& entry : copies)
    if (entry.manifest.id == id) chosen = &entry;
  if (!chosen)
    throw Error(ErrorKind::config, "target '" + target + "' has no backup '" + id + "' in " + storage.describe() +
                                       " (newest is '" + copies.back().manifest.id + "')");
  spdlog::info("fetching backup {} of target '{}' from {}", chosen->manifest.id, target, storage.describe());
  if (storage.stat(target + "/encryption.json")) download(storage, target + "/encryption.json", staging);
  for (const auto& backup : backup_chain(copies, *chosen))
    download_prefix(storage, target + "/backups/" + backup.manifest.id + "/", staging,
                    {"/manifest.copy.json", "/manifest.json"});
  download_prefix(storage, target + "/log/", staging, {".json"});
  return chosen->manifest.id;
}

StagedBackup stage_backup(const Storage& storage, const std::string& target, const std::string& id,
                          const std::filesystem::path& local_root, std::optional<TimePoint> until) {
  std::filesystem::create_directories(local_root);
  TempDir staging(local_root, ".staging-");
  std::string fetched = fetch_for_restore(storage, target, id, staging.path(), until);
  Repository repository(staging.path());
  return StagedBackup{std::move(staging), std::move(repository), fetched};
}

std::vector<RetentionDecision> prune_copies(Storage& storage, const std::string& target, const RetentionPolicy& policy,
                                            TimePoint now, bool dry_run) {
  // Deletions a crash or an outage cut short are finished first.
  if (!dry_run) finish_stored_deletions(storage, target);
  std::vector<std::string> problems;
  auto copies = list_copied_backups(storage, target, &problems);
  // An unreadable manifest could be a full backup whose incrementals would look orphaned.
  if (!problems.empty())
    throw Error(ErrorKind::integrity,
                "prune of the copies in " + storage.describe() + " deletes nothing: " + problems.front());
  auto decisions = plan_retention(copies, policy, now);
  std::vector<BackupEntry> kept;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    if (decisions[i].keep) {
      kept.push_back(copies[i]);
      continue;
    }
    if (dry_run) continue;
    delete_stored_backup(storage, target, copies[i].manifest.id);
  }
  // Segments by their record's name: "<log file>.json" beside "<log file>.zst".
  std::vector<LogSegment> segments;
  std::string log_prefix = target + "/log/";
  for (const auto& object : storage.list(log_prefix)) {
    if (!object.key.ends_with(".json")) continue;
    LogSegment segment;
    segment.name = object.key.substr(log_prefix.size(), object.key.size() - log_prefix.size() - 5);
    auto sequence = log_file_sequence(segment.name);
    if (!sequence) continue;
    segment.sequence = *sequence;
    segments.push_back(segment);
  }
  std::sort(segments.begin(), segments.end(), [](const auto& a, const auto& b) { return a.sequence < b.sequence; });
  for (auto& decision : plan_log_retention(kept, segments)) {
    if (!decision.keep && !dry_run)
      storage.remove({log_prefix + decision.id + ".json", log_prefix + decision.id + ".zst"});
    decisions.push_back(decision);
  }
  return decisions;
}

}  // namespace dbkeeper
