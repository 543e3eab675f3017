#pragma once
// Which points in time a target can be restored to, from its full backups
// and its log archive, and how to reach one of them. Pure logic over what
// the repository holds: no I/O.
//
// A full backup reaches forward through the log archive when the segment
// holding its log position was archived and every later segment follows it
// without a gap; it then reaches to the archive's `complete_until` (or, if
// the chain breaks, to the close of the last segment before the break).

#include <optional>
#include <string>
#include <vector>

#include "backup/log_archive.h"
#include "backup/repository.h"

namespace dbkeeper {

struct RecoveryWindow {
  std::optional<TimePoint> start;  // the oldest full backup's end
  std::optional<TimePoint> end;    // the newest point any full backup reaches, or an incremental ends at
};

// The unbroken run of segments starting with the one named `first`; empty
// when `first` was never archived.
std::vector<LogSegment> log_chain_from(const std::vector<LogSegment>& segments, const std::string& first);

// How far the full backup reaches: its own end, or further through the archive.
TimePoint reachable_until(const BackupManifest& full, const std::vector<LogSegment>& segments,
                          const std::optional<LogArchiveProgress>& progress);

// True when the newest verification of `backup` ran and failed: such a
// backup is no restore point, for the window or for --until.
bool failed_verification(const BackupEntry& backup);

// Backups whose verification failed (or whose chain holds one) are left
// out, unless `skip_failed_verifications` is false.
RecoveryWindow recovery_window(const std::vector<BackupEntry>& backups, const std::vector<LogSegment>& segments,
                               const std::optional<LogArchiveProgress>& progress,
                               bool skip_failed_verifications = true);

struct PointInTimePlan {
  BackupEntry base;                  // the full backup to restore first
  std::vector<LogSegment> segments;  // then these, in order, from base's log position
  TimePoint until;                   // the moment's whole second: replay stops at its first event
};

// The newest full backup that ended before `until`'s whole second and
// reaches it through the archive (only `backup_id`, unless it is "latest"). Throws Error{config}
// that says what the repository can reach instead.
PointInTimePlan plan_point_in_time(const std::vector<BackupEntry>& backups, const std::vector<LogSegment>& segments,
                                   const std::optional<LogArchiveProgress>& progress, TimePoint until,
                                   const std::string& backup_id = "latest");

}  // namespace dbkeeper
