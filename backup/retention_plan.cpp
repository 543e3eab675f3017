#include "backup/retention_plan.h"

#include <algorithm>

#include "backup/backup_chain.h"
#include "core/error.h"

namespace dbkeeper {

std::vector<RetentionDecision> plan_retention(const std::vector<BackupEntry>& backups, const RetentionPolicy& policy,
                                              TimePoint now) {
  std::vector<RetentionDecision> decisions;
  decisions.reserve(backups.size());
  for (const auto& backup : backups) decisions.push_back({backup.manifest.id, true, "no retention policy"});
  if (!policy.full_count && !policy.max_age) return decisions;

  // Rank full backups from the newest.
  std::vector<std::size_t> fulls;
  for (std::size_t i = backups.size(); i-- > 0;)
    if (backups[i].manifest.type == "full") fulls.push_back(i);

  std::optional<std::size_t> newest_verified;
  for (std::size_t i = backups.size(); i-- > 0;) {
    if (backups[i].verification && backups[i].verification->passed) {
      newest_verified = i;
      break;
    }
  }

  for (std::size_t rank = 0; rank < fulls.size(); ++rank) {
    std::size_t i = fulls[rank];
    const auto& manifest = backups[i].manifest;
    auto& decision = decisions[i];
    bool by_count = policy.full_count && static_cast<int>(rank) < *policy.full_count;
    bool by_age = policy.max_age && now - manifest.finished_at < *policy.max_age;
    if (rank == 0) {
      decision = {manifest.id, true, "the newest full backup"};
    } else if (by_count) {
      decision = {manifest.id, true, "one of the newest " + std::to_string(*policy.full_count) + " full backups"};
    } else if (by_age) {
      decision = {manifest.id, true, "younger than " + format_duration(*policy.max_age)};
    } else if (newest_verified && *newest_verified == i) {
      decision = {manifest.id, true, "the newest backup that passed verification"};
    } else {
      std::string why;
      if (policy.full_count) why = "not among the newest " + std::to_string(*policy.full_count) + " full backups";
      if (policy.max_age)
        why += std::string(why.empty() ? "" : " and ") + "older than " + format_duration(*policy.max_age);
      decision = {manifest.id, false, why};
    }
  }
  // An incremental goes with the full backup its chain starts from.
  for (std::size_t i = 0; i < backups.size(); ++i) {
    const auto& manifest = backups[i].manifest;
    if (manifest.type != "incremental") continue;
    try {
      std::string full_id = backup_chain(backups, backups[i]).front().manifest.id;
      auto full =
          std::find_if(decisions.begin(), decisions.end(), [&](const RetentionDecision& d) { return d.id == full_id; });
      bool keep = full != decisions.end() && full->keep;
      decisions[i] = {manifest.id, keep,
                      "continues full backup " + full_id + ", which is " + (keep ? "kept" : "deleted")};
    } catch (const Error& e) {
      decisions[i] = {manifest.id, false, std::string("cannot be restored: ") + e.what()};
    }
  }
  return decisions;
}

std::vector<RetentionDecision> plan_log_retention(const std::vector<BackupEntry>& kept,
                                                  const std::vector<LogSegment>& segments) {
  std::optional<std::uint64_t> first_needed;
  std::string first_name;
  for (const auto& backup : kept) {
    auto sequence = log_file_sequence(backup.manifest.log_position.binlog_file);
    if (backup.manifest.type != "full" || !sequence) continue;
    if (!first_needed || *sequence < *first_needed) {
      first_needed = sequence;
      first_name = backup.manifest.log_position.binlog_file;
    }
  }
  std::vector<RetentionDecision> decisions;
  for (const auto& segment : segments) {
    RetentionDecision decision{segment.name, true, "needed for point-in-time restores"};
    if (first_needed && segment.sequence < *first_needed) {
      decision.keep = false;
      decision.reason = "older than " + first_name + ", where the oldest kept full backup starts";
    } else if (!first_needed) {
      decision.reason = "kept: no kept full backup names a log position";
    }
    decisions.push_back(decision);
  }
  return decisions;
}

}  // namespace dbkeeper
