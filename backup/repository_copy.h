#pragma once
// The copy job: replicates a target's complete backups and archived log
// segments from the local repository into another one (an S3 bucket, a
// second disk), in the local layout, so that the copy alone can restore.
//
// In order, oldest first, and resumable: an object already there with the
// right size is not sent again; a backup's manifest objects go last, so a
// copy cut short (crash, outage) is never a listed backup there, and a
// segment's record goes after its data. Progress is kept in
// <target>/copies/<repository>.json for the metrics.

#include <optional>
#include <set>
#include <string>

#include "backup/repository.h"
#include "backup/storage/storage.h"
#include "backup/target.h"

namespace dbkeeper {

struct CopyReport {
  std::string repository;
  bool skipped = false;             // another pass of the same target and repository was running: nothing done
  std::size_t backups_copied = 0;   // newly complete there
  std::size_t segments_copied = 0;  // log segments newly complete there
  std::uint64_t bytes_sent = 0;
  std::size_t backups_pending = 0;  // complete locally, not (yet) there
  std::size_t segments_pending = 0;
  // The newest local backup or segment that is not there: how far the copy lags.
  std::optional<TimePoint> oldest_pending;
};

// What <target>/copies/<repository>.json records after each pass.
struct CopyStatus {
  // Start of the newest pass that left nothing pending: every backup and
  // segment complete before it is in the repository.
  std::optional<TimePoint> last_success;
  std::optional<TimePoint> last_attempt;
  std::optional<TimePoint> oldest_pending;
  // What earlier passes completed there. Never sent again, also once the
  // repository's own retention deleted it (it keeps fewer than local).
  std::set<std::string> copied_backups;       // ids still in the local repository
  std::uint64_t copied_segments_through = 0;  // log file sequence
  std::uint64_t bytes_sent_total = 0;
  std::uint64_t failures_total = 0;
  std::string last_failure;
};

// Where the copy job sends a target's backups and log segments: its
// primary store first (only the log segments: the backups are made there),
// then each repository it copies to.
std::vector<std::string> copy_destinations(const Target& target);

// One pass for `target` into `destination`. Throws (after recording the
// failure in the status) when the destination refuses or is unreachable;
// what was copied before stays copied.
CopyReport copy_target(const Repository& local, const std::string& target, Storage& destination,
                       const std::string& repository_name);

CopyStatus read_copy_status(const Repository& local, const std::string& target, const std::string& repository_name);

}  // namespace dbkeeper
