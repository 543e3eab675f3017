#pragma once
// Applies a target's retention policy to its repository. Holds the target's
// lock, so it never races a backup; with `dry_run` it only decides.

#include <vector>

#include "backup/repository.h"
#include "backup/retention_plan.h"
#include "backup/target.h"

namespace dbkeeper {

std::vector<RetentionDecision> prune_target(const Target& target, const Repository& repository, TimePoint now,
                                            bool dry_run);

}  // namespace dbkeeper
