#include "agent/repository_copies.h"

#include <spdlog/spdlog.h>

#include "backup/repository_copy.h"
#include "backup/repository_fetch.h"

namespace dbkeeper {

int copy_to_repositories(const Config& config, const Target& target, const Repository& local, const std::string& only) {
  int failures = 0;
  for (const auto& name : copy_destinations(target)) {
    if (!only.empty() && name != only) continue;
    const auto* repository = config.find_repository(name);
    if (!repository) continue;  // the configuration checks this
    try {
      auto storage = open_storage(repository->storage);
      auto report = copy_target(local, target.name, *storage, name);
      if (report.backups_copied + report.segments_copied > 0)
        spdlog::info("copied {} backup(s) and {} log segment(s) of target '{}' to repository '{}' ({} bytes sent)",
                     report.backups_copied, report.segments_copied, target.name, name, report.bytes_sent);
    } catch (const std::exception& e) {
      spdlog::error("copy of target '{}' to repository '{}' failed: {}", target.name, name, e.what());
      ++failures;
    }
  }
  return failures;
}

std::vector<std::pair<std::string, std::vector<RetentionDecision>>> prune_repository_copies(const Config& config,
                                                                                            const Target& target,
                                                                                            TimePoint now, bool dry_run,
                                                                                            int& failures) {
  std::vector<std::pair<std::string, std::vector<RetentionDecision>>> results;
  for (const auto& name : target.copies_to) {
    const auto* repository = config.find_repository(name);
    if (!repository) continue;
    const auto& own = repository->retention;
    RetentionPolicy policy = own.full_count || own.max_age
                                 ? RetentionPolicy{own.full_count, own.max_age}
                                 : RetentionPolicy{target.retention.full_count, target.retention.max_age};
    try {
      auto storage = open_storage(repository->storage);
      results.emplace_back(name, prune_copies(*storage, target.name, policy, now, dry_run));
    } catch (const std::exception& e) {
      spdlog::error("prune of the copies of target '{}' in repository '{}' failed: {}", target.name, name, e.what());
      ++failures;
    }
  }
  return results;
}

}  // namespace dbkeeper
