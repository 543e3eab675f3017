#include "backup/prune_job.h"

#include <optional>

#include <spdlog/spdlog.h>

#include "backup/engine.h"
#include "backup/restore_job.h"
#include "core/error.h"

namespace dbkeeper {

std::vector<RetentionDecision> prune_target(const Target& target, const Repository& repository, TimePoint now,
                                            bool dry_run) {
  LockFile lock = repository.lock_target(target.name, "prune");
  if (!dry_run) repository.remove_partial_backups(target.name);
  std::vector<std::string> problems, unreadable;
  auto backups = repository.list(target.name, &problems);
  for (const auto& problem : problems)
    if (problem.starts_with("backup '")) unreadable.push_back(problem);
  // A backup that cannot be read may be the full backup others continue
  // from, or the newest: nothing is proved about what may go, so nothing
  // goes until it is repaired or removed by hand.
  if (!unreadable.empty())
    throw Error(ErrorKind::integrity, "target '" + target.name + "': " + unreadable.front() +
                                          "; prune deletes nothing while a backup of the target is unreadable "
                                          "(repair it from a copy, or move it out of the repository)");
  auto decisions = plan_retention(backups, RetentionPolicy{target.retention.full_count, target.retention.max_age}, now);
  std::vector<BackupEntry> kept;
  for (std::size_t i = 0; i < backups.size(); ++i)
    if (decisions[i].keep) kept.push_back(backups[i]);

  LogArchive archive(repository, target.name);
  std::optional<LockFile> log_lock;
  if (!dry_run && std::filesystem::exists(archive.directory())) log_lock.emplace(archive.lock("prune"));
  auto segments = archive.segments();
  auto log_decisions = plan_log_retention(kept, segments);
  std::optional<LockFile> no_readers;
  if (!dry_run) {
    // A running verification or restore may be reading any of them.
    no_readers = repository.try_lock_out_readers(target.name);
    if (!no_readers)
      throw TargetBusy(ErrorKind::process, "target '" + target.name +
                                               "': a verification or restore is reading its backups; prune deleted "
                                               "nothing and runs again at its next time");
  }
  if (!dry_run) {
    // Newest first: an incremental goes before the backup it continues from,
    // so a crash never leaves one whose parent is gone.
    for (std::size_t i = backups.size(); i-- > 0;) {
      if (decisions[i].keep) continue;
      spdlog::info("deleting backup {} of target '{}': {}", decisions[i].id, target.name, decisions[i].reason);
      repository.delete_backup(backups[i]);
    }
    // Oldest first, so a crash leaves a shorter archive, never one with a hole.
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (log_decisions[i].keep) continue;
      spdlog::info("deleting archived log {} of target '{}': {}", segments[i].name, target.name,
                   log_decisions[i].reason);
      archive.remove(segments[i]);
      // The store the backups are made in holds the segments the copy job sent there.
      if (const auto* store = repository.remote_store(target.name)) {
        std::string prefix = target.name + "/log/";
        store->storage->remove({prefix + segments[i].name + ".json", prefix + segments[i].artifact.name});
      }
    }
  }
  // Only the segments that go are worth a line each.
  for (auto& decision : log_decisions)
    if (!decision.keep) decisions.push_back(std::move(decision));
  // Databases that restore --force replaced go after keep_replaced.
  for (const auto& replaced : replaced_databases(repository, target)) {
    bool expired = now - replaced.at >= target.restore.keep_replaced;
    decisions.push_back({replaced.database, !expired,
                         "replaced '" + replaced.replaced + "' on " + format_utc(replaced.at) +
                             (expired ? "; older than [target.restore] keep_replaced" : "; kept for keep_replaced")});
    if (!expired || dry_run) continue;
    auto engine = create_engine(target.engine);
    spdlog::info("dropping database '{}' of target '{}', which replaced '{}' on {}", replaced.database, target.name,
                 replaced.replaced, format_utc(replaced.at));
    engine->drop_database(target, replaced.database);
    std::filesystem::remove(replaced.record);
  }
  return decisions;
}

}  // namespace dbkeeper
