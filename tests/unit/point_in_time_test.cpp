#include "backup/point_in_time.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;

TimePoint at(const char* hh_mm) {
  return parse_utc(std::string("2026-11-25T") + hh_mm + ":00.000Z");
}

BackupEntry full(const std::string& id, const char* finished, const std::string& binlog_file) {
  BackupEntry entry;
  entry.manifest.id = id;
  entry.manifest.type = "full";
  entry.manifest.started_at = at(finished) - 1min;
  entry.manifest.finished_at = at(finished);
  entry.manifest.log_position.binlog_file = binlog_file;
  entry.manifest.log_position.binlog_position = 379;
  return entry;
}

LogSegment segment(std::uint64_t sequence, const std::string& previous, const char* closed_before,
                   const char* opened_at = nullptr) {
  LogSegment s;
  // By default a log opens when the one before it closes, an hour earlier.
  s.opened_at = opened_at ? at(opened_at) : at(closed_before) - 1h;
  s.name = "binlog.00000" + std::to_string(sequence);
  s.sequence = sequence;
  s.previous = previous;
  s.closed_before = at(closed_before);
  s.archived_at = at(closed_before);
  return s;
}

// binlog.000003 .. 000006 archived without a gap; complete until 10:00.
std::vector<LogSegment> chain() {
  return {segment(3, "", "06:00"), segment(4, "binlog.000003", "07:00"), segment(5, "binlog.000004", "08:00"),
          segment(6, "binlog.000005", "09:00")};
}

const LogArchiveProgress k_progress{at("10:00"), "binlog.000007", 339};

TEST(recovery_window, without_an_archive_spans_the_full_backups) {
  auto window =
      recovery_window({full("a", "05:00", "binlog.000003"), full("b", "08:30", "binlog.000006")}, {}, std::nullopt);
  EXPECT_EQ(*window.start, at("05:00"));
  EXPECT_EQ(*window.end, at("08:30"));
}

TEST(recovery_window, reaches_the_archive_progress_through_an_unbroken_chain) {
  auto window = recovery_window({full("a", "05:00", "binlog.000003")}, chain(), k_progress);
  EXPECT_EQ(*window.start, at("05:00"));
  EXPECT_EQ(*window.end, at("10:00"));
}

TEST(recovery_window, stops_at_a_gap) {
  auto segments = chain();
  segments[2].previous = "";  // binlog.000005 starts a new chain: 000004 -> 000005 cannot be trusted
  auto window = recovery_window({full("a", "05:00", "binlog.000003")}, segments, k_progress);
  EXPECT_EQ(*window.end, at("07:00"));
}

TEST(recovery_window, a_full_whose_log_was_never_archived_reaches_only_its_own_end) {
  auto window = recovery_window({full("a", "05:00", "binlog.000001")}, chain(), k_progress);
  EXPECT_EQ(*window.end, at("05:00"));
}

TEST(recovery_window, reaches_the_newest_incremental_with_a_whole_chain) {
  auto incremental = full("i", "09:30", "binlog.000006");
  incremental.manifest.type = "incremental";
  incremental.manifest.parent = "a";
  auto orphan = full("o", "11:00", "binlog.000007");
  orphan.manifest.type = "incremental";
  orphan.manifest.parent = "deleted";
  auto window = recovery_window({full("a", "05:00", "binlog.000003"), incremental, orphan}, {}, std::nullopt);
  EXPECT_EQ(*window.start, at("05:00"));
  EXPECT_EQ(*window.end, at("09:30"));
}

TEST(recovery_window, is_empty_without_full_backups) {
  auto window = recovery_window({}, chain(), k_progress);
  EXPECT_FALSE(window.start);
  EXPECT_FALSE(window.end);
}

TEST(log_chain_from, needs_consecutive_sequences) {
  auto segments = chain();
  segments[3].sequence = 9;  // a file named as the successor but numbered past a gap
  EXPECT_EQ(log_chain_from(segments, "binlog.000003").size(), 3u);
  EXPECT_TRUE(log_chain_from(segments, "binlog.000001").empty());
}

TEST(plan_point_in_time, picks_the_newest_full_that_ended_by_then_and_only_the_segments_needed) {
  std::vector<BackupEntry> backups{full("a", "05:00", "binlog.000003"), full("b", "07:30", "binlog.000005")};
  auto plan = plan_point_in_time(backups, chain(), k_progress, at("07:45"));
  EXPECT_EQ(plan.base.manifest.id, "b");
  ASSERT_EQ(plan.segments.size(), 1u);
  EXPECT_EQ(plan.segments[0].name, "binlog.000005");

  plan = plan_point_in_time(backups, chain(), k_progress, at("07:15"));
  EXPECT_EQ(plan.base.manifest.id, "a");
  // 07:00-07:15 is in 000005, which closed at 08:00; 000006 holds only later events.
  ASSERT_EQ(plan.segments.size(), 3u);
  EXPECT_EQ(plan.segments.front().name, "binlog.000003");
  EXPECT_EQ(plan.segments.back().name, "binlog.000005");
}

TEST(plan_point_in_time, includes_the_segment_that_holds_the_moment) {
  auto plan = plan_point_in_time({full("a", "05:00", "binlog.000003")}, chain(), k_progress, at("08:30"));
  ASSERT_EQ(plan.segments.size(), 4u);
  EXPECT_EQ(plan.segments.back().name, "binlog.000006");
  EXPECT_EQ(plan.until, at("08:30"));
}

TEST(plan_point_in_time, logs_archived_in_one_pass_are_told_apart_by_when_they_were_opened) {
  // One pass archived all four at 10:00: closed_before says nothing about order.
  std::vector<LogSegment> segments{segment(3, "", "10:00", "05:30"), segment(4, "binlog.000003", "10:00", "06:00"),
                                   segment(5, "binlog.000004", "10:00", "07:00"),
                                   segment(6, "binlog.000005", "10:00", "08:00")};
  auto plan = plan_point_in_time({full("a", "05:40", "binlog.000003")}, segments, k_progress, at("07:15"));
  ASSERT_EQ(plan.segments.size(), 3u);
  EXPECT_EQ(plan.segments.back().name, "binlog.000005");
  // The base's own log is always replayed, even for a moment right after the backup.
  plan = plan_point_in_time({full("a", "05:40", "binlog.000003")}, segments, k_progress, at("05:45"));
  ASSERT_EQ(plan.segments.size(), 1u);
}

TEST(plan_point_in_time, stops_at_the_moments_second_and_never_starts_from_a_backup_that_ended_inside_it) {
  // "b" ended 07:30:00.400: its dump may hold rows of 07:30:00.2, which a
  // restore to 07:30:00.900 (replayed up to 07:30:00) must not contain.
  auto b = full("b", "07:30", "binlog.000005");
  b.manifest.finished_at += 400ms;
  std::vector<BackupEntry> backups{full("a", "05:00", "binlog.000003"), b};
  auto plan = plan_point_in_time(backups, chain(), k_progress, at("07:30") + 900ms);
  EXPECT_EQ(plan.base.manifest.id, "a");
  EXPECT_EQ(plan.until, at("07:30"));
  EXPECT_EQ(plan_point_in_time(backups, chain(), k_progress, at("07:30") + 1s).base.manifest.id, "b");
  // Nothing ended before 05:00:00 itself.
  EXPECT_THROW(plan_point_in_time(backups, chain(), k_progress, at("05:00") + 500ms), Error);
}

TEST(plan_point_in_time, honours_an_explicit_backup) {
  std::vector<BackupEntry> backups{full("a", "05:00", "binlog.000003"), full("b", "07:30", "binlog.000005")};
  EXPECT_EQ(plan_point_in_time(backups, chain(), k_progress, at("09:00"), "a").base.manifest.id, "a");
}

TEST(plan_point_in_time, refuses_what_it_cannot_reach_and_says_why) {
  std::vector<BackupEntry> backups{full("a", "05:00", "binlog.000003")};
  auto message = [&](TimePoint until, std::vector<LogSegment> segments) {
    try {
      plan_point_in_time(backups, segments, segments.empty() ? std::nullopt : std::optional(k_progress), until);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(at("04:00"), chain()).find("before the oldest full backup"), std::string::npos);
  EXPECT_NE(message(at("11:00"), chain()).find("later than the log archive reaches"), std::string::npos);
  EXPECT_NE(message(at("06:00"), {}).find("nothing is archived"), std::string::npos);
  EXPECT_THROW(plan_point_in_time({}, chain(), k_progress, at("06:00")), Error);
}

TEST(plan_point_in_time, never_bridges_a_gap) {
  auto segments = chain();
  segments[2].previous = "";
  // 000005 starts a chain, but no full backup starts in it.
  EXPECT_THROW(plan_point_in_time({full("a", "05:00", "binlog.000003")}, segments, k_progress, at("09:30")), Error);
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

// A backup whose verification failed is no restore point; one that could
// not be verified still is (nothing was learnt about it).
TEST(recovery_window, leaves_out_backups_that_failed_verification) {
  auto failed = full("a", "05:00", "binlog.000003");
  failed.verification = VerificationRecord{"failed", false, true, at("05:30"), at("05:31"), "table 't' differs"};
  auto unverified = full("b", "08:30", "binlog.000006");
  unverified.verification = VerificationRecord{"could-not-run", false, true, at("08:40"), at("08:41"), "access denied"};
  auto incremental = full("i", "09:30", "binlog.000006");
  incremental.manifest.type = "incremental";
  incremental.manifest.parent = "a";
  auto window = recovery_window({failed, unverified, incremental}, {}, std::nullopt);
  EXPECT_EQ(*window.start, at("08:30"));
  EXPECT_EQ(*window.end, at("08:30"));  // the incremental continues from the failed one
  auto all = recovery_window({failed, unverified, incremental}, {}, std::nullopt, false);
  EXPECT_EQ(*all.start, at("05:00"));
  EXPECT_EQ(*all.end, at("09:30"));
}

}  // namespace
}  // namespace dbkeeper
