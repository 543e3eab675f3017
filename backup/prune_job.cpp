#include "backup/prune_job.h"

#include <spdlog/spdlog.h>

namespace dbkeeper {

std::vector<RetentionDecision> prune_target(const Target& target, const Repository& repository, TimePoint now,
                                            bool dry_run) {
  LockFile lock = repository.lock_target(target.name, "prune");
  if (!dry_run) repository.remove_partial_backups(target.name);
  auto backups = repository.list(target.name);
  auto decisions = plan_retention(backups, RetentionPolicy{target.retention.full_count, target.retention.max_age}, now);
  if (dry_run) return decisions;
  for (std::size_t i = 0; i < backups.size(); ++i) {
    if (decisions[i].keep) continue;
    spdlog::info("deleting backup {} of target '{}': {}", decisions[i].id, target.name, decisions[i].reason);
    repository.delete_backup(backups[i]);
  }
  return decisions;
}

}  // namespace dbkeeper
