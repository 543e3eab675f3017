#pragma once
// Verification of one backup: every artifact re-read, checksummed and
// decompressed; with `restore`, each database restored into a scratch
// database on the same server (always dropped afterwards) and its tables and
// row counts compared with the manifest. The result is written beside the
// backup and counted.

#include <string>
#include <vector>

#include "backup/repository.h"
#include "backup/target.h"

namespace dbkeeper {

struct VerifyReport {
  std::string backup_id;
  std::string result = "failed";  // "passed", "failed" or "could-not-run" (VerificationRecord)
  bool passed = false;
  bool restored = false;
  std::string reason;  // first problem found
  std::vector<std::string> problems;
  std::vector<std::string> notes;        // what the scratch copy could not carry (and so was not compared)
  std::string restored_into;             // where the scratch copy was made (VerificationPlace::description)
  std::size_t log_segments_checked = 0;  // archived binlogs after the backup's position
  std::size_t incrementals = 0;          // an incremental's chain: the incrementals up to it (itself included)
  double duration_seconds = 0;
};

// Returns a report (passed or failed). Throws when the backup cannot be
// found (counted as failed) or the verification could not run: the server
// is down, a privilege is missing (recorded and counted as could-not-run,
// which says nothing about the backup).
VerifyReport verify_backup(const Target& target, const Repository& repository, const std::string& backup_id,
                           bool restore);

// Differences between what the manifest recorded and what a database holds.
std::vector<std::string> compare_tables(const std::vector<TableRecord>& expected,
                                        const std::vector<TableRecord>& found);

}  // namespace dbkeeper
