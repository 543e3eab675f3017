#pragma once
// Runs the copy job (backup/repository_copy.h) of one target into each of
// the repositories it copies to: after every backup and log archive pass of
// the daemon, and from `dbkeeper copy`.

#include <string>

#include "agent/config.h"
#include "backup/repository.h"
#include "backup/retention_plan.h"

namespace dbkeeper {

// Copies `target` to each of its repositories (or only `only` when not
// empty). Failures are logged and recorded; returns how many failed.
int copy_to_repositories(const Config& config, const Target& target, const Repository& local,
                         const std::string& only = "");

// Applies retention to each copy of `target`: the repository's own
// [repository.retention] when set, else the target's. Returns the
// decisions by repository name; a repository that fails is logged and
// counted in `failures`.
std::vector<std::pair<std::string, std::vector<RetentionDecision>>> prune_repository_copies(const Config& config,
                                                                                            const Target& target,
                                                                                            TimePoint now, bool dry_run,
                                                                                            int& failures);

}  // namespace dbkeeper
