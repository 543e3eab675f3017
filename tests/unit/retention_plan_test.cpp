#include "backup/retention_plan.h"

#include <gtest/gtest.h>

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;

const TimePoint k_now = parse_utc("2026-11-25T12:00:00.000Z");

BackupEntry full_backup(const std::string& id, std::chrono::hours age, std::optional<bool> verified = std::nullopt) {
  BackupEntry entry;
  entry.manifest.id = id;
  entry.manifest.type = "full";
  entry.manifest.finished_at = k_now - age;
  entry.manifest.started_at = entry.manifest.finished_at - 1min;
  if (verified)
    entry.verification =
        VerificationRecord{*verified ? "passed" : "failed", *verified, true, k_now - age, k_now - age, ""};
  return entry;
}

std::vector<std::string> kept(const std::vector<RetentionDecision>& decisions) {
  std::vector<std::string> ids;
  for (const auto& d : decisions)
    if (d.keep) ids.push_back(d.id);
  return ids;
}

// Oldest first: a=10 days old ... e=1 day old.
std::vector<BackupEntry> five_days() {
  return {full_backup("a", 240h), full_backup("b", 192h), full_backup("c", 96h), full_backup("d", 48h),
          full_backup("e", 24h)};
}

TEST(plan_retention, keeps_everything_without_a_policy) {
  EXPECT_EQ(kept(plan_retention(five_days(), {}, k_now)).size(), 5u);
}

TEST(plan_retention, keeps_the_newest_full_count) {
  auto decisions = plan_retention(five_days(), RetentionPolicy{2, std::nullopt}, k_now);
  EXPECT_EQ(kept(decisions), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(decisions[0].reason, "not among the newest 2 full backups");
  EXPECT_EQ(decisions[3].reason, "one of the newest 2 full backups");
}

TEST(plan_retention, keeps_those_younger_than_max_age) {
  auto decisions =
      plan_retention(five_days(), RetentionPolicy{std::nullopt, std::chrono::duration_cast<Duration>(100h)}, k_now);
  EXPECT_EQ(kept(decisions), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(decisions[1].reason, "older than 4d4h");
}

TEST(plan_retention, either_rule_keeps_a_backup_when_both_are_set) {
  auto decisions = plan_retention(five_days(), RetentionPolicy{1, std::chrono::duration_cast<Duration>(72h)}, k_now);
  EXPECT_EQ(kept(decisions), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(decisions[0].reason, "not among the newest 1 full backups and older than 3d");
}

TEST(plan_retention, never_deletes_the_newest_full_backup) {
  auto decisions =
      plan_retention(five_days(), RetentionPolicy{std::nullopt, std::chrono::duration_cast<Duration>(1h)}, k_now);
  EXPECT_EQ(kept(decisions), (std::vector<std::string>{"e"}));
  EXPECT_EQ(decisions[4].reason, "the newest full backup");
}

TEST(plan_retention, never_deletes_the_newest_backup_that_passed_verification) {
  auto backups = five_days();
  backups[1].verification = VerificationRecord{"passed", true, true, k_now, k_now, ""};    // b passed
  backups[3].verification = VerificationRecord{"failed", false, true, k_now, k_now, "x"};  // d failed
  auto decisions = plan_retention(backups, RetentionPolicy{1, std::nullopt}, k_now);
  EXPECT_EQ(kept(decisions), (std::vector<std::string>{"b", "e"}));
  EXPECT_EQ(decisions[1].reason, "the newest backup that passed verification");
}

BackupEntry incremental(const std::string& id, std::chrono::hours age, const std::string& parent) {
  auto entry = full_backup(id, age);
  entry.manifest.type = "incremental";
  entry.manifest.parent = parent;
  return entry;
}

TEST(plan_retention, an_incremental_goes_with_the_full_backup_it_continues) {
  // a (full) <- a1 <- a2;  e (full) <- e1
  std::vector<BackupEntry> backups{full_backup("a", 240h), incremental("a1", 230h, "a"), incremental("a2", 220h, "a1"),
                                   full_backup("e", 24h), incremental("e1", 12h, "e")};
  auto decisions = plan_retention(backups, RetentionPolicy{1, std::nullopt}, k_now);
  EXPECT_EQ(kept(decisions), (std::vector<std::string>{"e", "e1"}));
  EXPECT_EQ(decisions[2].reason, "continues full backup a, which is deleted");
  EXPECT_EQ(decisions[4].reason, "continues full backup e, which is kept");
  decisions = plan_retention(backups, RetentionPolicy{2, std::nullopt}, k_now);
  EXPECT_EQ(kept(decisions).size(), 5u);
}

TEST(plan_retention, an_incremental_taken_after_the_clock_stepped_back_is_kept_with_its_full_backup) {
  // The clock went back two hours after "e": its incremental "e1" looks
  // older than its parent, and sorts before it by id.
  auto e = full_backup("e", 24h);
  e.manifest.log_position.binlog_file = "binlog.000010";
  auto e1 = incremental("d9", 26h, "e");
  e1.manifest.log_position.binlog_file = "binlog.000011";
  std::vector<BackupEntry> backups{full_backup("a", 240h), e1, e};
  auto decisions = plan_retention(backups, RetentionPolicy{1, std::nullopt}, k_now);
  EXPECT_EQ(kept(decisions), (std::vector<std::string>{"d9", "e"}));
  EXPECT_EQ(decisions[1].reason, "continues full backup e, which is kept");
}

TEST(plan_retention, an_incremental_whose_chain_is_broken_is_deleted) {
  std::vector<BackupEntry> backups{incremental("x1", 100h, "gone"), full_backup("e", 24h)};
  auto decisions = plan_retention(backups, RetentionPolicy{5, std::nullopt}, k_now);
  EXPECT_FALSE(decisions[0].keep);
  EXPECT_NE(decisions[0].reason.find("'gone', which is not in the repository"), std::string::npos)
      << decisions[0].reason;
}

}  // namespace
}  // namespace dbkeeper
