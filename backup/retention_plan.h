#pragma once
// Which backups retention keeps, and why: pure logic over the repository's
// list, so `prune --dry-run` and the real prune decide the same way.
//
// A full backup is kept when it is one of the newest `full_count` fulls, or
// younger than `max_age` (either suffices when both are set). Whatever the
// policy, these are always kept: the newest full backup, the newest backup
// that passed verification, and every backup that a kept backup depends on
// (an incremental's full, once incrementals exist). With no policy, all stay.

#include <optional>
#include <string>
#include <vector>

#include "backup/repository.h"
#include "core/duration.h"

namespace dbkeeper {

struct RetentionPolicy {
  std::optional<int> full_count;
  std::optional<Duration> max_age;
};

struct RetentionDecision {
  std::string id;
  bool keep = true;
  std::string reason;
};

// `backups` oldest first, as Repository::list returns them.
std::vector<RetentionDecision> plan_retention(const std::vector<BackupEntry>& backups, const RetentionPolicy& policy,
                                              TimePoint now);

}  // namespace dbkeeper
