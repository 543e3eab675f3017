#include "agent/repository_copies.h"

#include <spdlog/spdlog.h>

#include "backup/repository_copy.h"

namespace dbkeeper {

int copy_to_repositories(const Config& config, const Target& target, const Repository& local, const std::string& only) {
  int failures = 0;
  for (const auto& name : target.copies_to) {
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

}  // namespace dbkeeper
