#pragma once
// Which backups retention keeps, and why: pure logic over the repository's
// list, so `prune --dry-run` and the real prune decide the same way.
//
// A full backup is kept when it is one of the newest `full_count` fulls, or
// younger than `max_age` (either suffices when both are set). Whatever the
// policy, these are always kept: the newest full backup, the newest backup
// that passed verification. An incremental backup is kept exactly when the
// full backup its chain starts from is (a broken chain, which no restore
// can use, goes). With no policy, all stay.
// Archived logs follow the full backups they extend.

#include <optional>
#include <string>
#include <vector>

#include "backup/log_archive.h"
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

// Which archived logs stay: every segment from the log file of the oldest
// full backup that is kept onwards. Older segments can only be replayed
// onto deleted backups. Without a kept full backup that names a log file,
// all stay. `kept` are the full backups retention keeps.
std::vector<RetentionDecision> plan_log_retention(const std::vector<BackupEntry>& kept,
                                                  const std::vector<LogSegment>& segments);

}  // namespace dbkeeper
