#include "backup/point_in_time.h"

#include <algorithm>

#include "backup/backup_chain.h"
#include "core/error.h"

namespace dbkeeper {

std::vector<LogSegment> log_chain_from(const std::vector<LogSegment>& segments, const std::string& first) {
  std::vector<LogSegment> chain;
  for (const auto& segment : segments) {
    if (chain.empty()) {
      if (segment.name == first) chain.push_back(segment);
      continue;
    }
    const auto& last = chain.back();
    if (segment.previous != last.name || segment.sequence != last.sequence + 1) break;
    chain.push_back(segment);
  }
  return chain;
}

TimePoint reachable_until(const BackupManifest& full, const std::vector<LogSegment>& segments,
                          const std::optional<LogArchiveProgress>& progress) {
  if (full.log_position.binlog_file.empty()) return full.finished_at;
  auto chain = log_chain_from(segments, full.log_position.binlog_file);
  if (chain.empty()) return full.finished_at;
  // The newest segment closes the chain: the archive is complete beyond it.
  TimePoint end = chain.back().closed_before;
  if (progress && chain.back().name == segments.back().name) end = std::max(end, progress->complete_until);
  return std::max(end, full.finished_at);
}

bool failed_verification(const BackupEntry& backup) {
  return backup.verification && backup.verification->result == "failed";
}

RecoveryWindow recovery_window(const std::vector<BackupEntry>& backups, const std::vector<LogSegment>& segments,
                               const std::optional<LogArchiveProgress>& progress, bool skip_failed_verifications) {
  RecoveryWindow window;
  for (const auto& backup : backups) {
    // A backup that failed its verification is no restore point.
    if (skip_failed_verifications && failed_verification(backup)) continue;
    // An incremental is a restore point of its own, when its chain is whole.
    if (backup.manifest.type == "incremental") {
      try {
        auto chain = backup_chain(backups, backup);
        if (skip_failed_verifications && std::any_of(chain.begin(), chain.end(), failed_verification)) continue;
      } catch (const Error&) {
        continue;
      }
      if (!window.end || backup.manifest.finished_at > *window.end) window.end = backup.manifest.finished_at;
      continue;
    }
    if (backup.manifest.type != "full") continue;
    if (!window.start || backup.manifest.finished_at < *window.start) window.start = backup.manifest.finished_at;
    auto reach = reachable_until(backup.manifest, segments, progress);
    if (!window.end || reach > *window.end) window.end = reach;
  }
  return window;
}

PointInTimePlan plan_point_in_time(const std::vector<BackupEntry>& backups, const std::vector<LogSegment>& segments,
                                   const std::optional<LogArchiveProgress>& progress, TimePoint until,
                                   const std::string& backup_id) {
  // Binary log events carry whole seconds, so replay can only stop at a
  // second's start: the moment is that second, and a base must have ended
  // before it, or its dump may already hold events of that very second.
  until = std::chrono::floor<std::chrono::seconds>(until);
  // The restore checks every artifact and log it uses before it changes
  // anything, so a base is not ruled out by a verification that failed on
  // something it may not need (a damaged log after the moment, say).
  auto window = recovery_window(backups, segments, progress, false);
  if (!window.start) throw Error(ErrorKind::config, "there is no full backup to start from");
  std::string reach = "the repository reaches " + format_utc(*window.start) + " to " + format_utc(*window.end);
  if (until <= *window.start)
    throw Error(ErrorKind::config, format_utc(until) +
                                       " is before the oldest full backup ended (restores are to the start of a "
                                       "second, and the backup must have ended before it); " +
                                       reach);
  if (until > *window.end)
    throw Error(ErrorKind::config,
                format_utc(until) + " is later than the log archive reaches" +
                    (segments.empty() ? " (nothing is archived: schedule log = \"continuous\" or run "
                                        "'dbkeeper backup TARGET --type log')"
                                      : "") +
                    "; " + reach);

  const BackupEntry* base = nullptr;
  for (const auto& backup : backups) {
    if (backup.manifest.type != "full" || backup.manifest.finished_at >= until) continue;
    if (backup_id != "latest" && backup.manifest.id != backup_id) continue;
    if (backup.manifest.log_position.binlog_file.empty()) continue;
    if (reachable_until(backup.manifest, segments, progress) < until) continue;
    if (!base || backup.manifest.finished_at > base->manifest.finished_at) base = &backup;
  }
  if (!base)
    throw Error(ErrorKind::config,
                "no full backup" + (backup_id != "latest" ? " '" + backup_id + "'" : std::string()) +
                    " that ended before " + format_utc(until) +
                    " is followed by an unbroken log archive up to that time (binary logs may have been purged "
                    "before they were archived); " +
                    reach);

  PointInTimePlan plan{*base, {}, until};
  for (const auto& segment : log_chain_from(segments, base->manifest.log_position.binlog_file)) {
    // A log opened at or after `until` holds nothing committed before it
    // (and the replay stops at the rotation into it anyway).
    if (!plan.segments.empty() && segment.opened_at >= until) break;
    plan.segments.push_back(segment);
  }
  return plan;
}

}  // namespace dbkeeper
