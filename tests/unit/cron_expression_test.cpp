#include "core/cron_expression.h"

#include <gtest/gtest.h>

#include "core/error.h"

#include <cstdlib>
#include <ctime>
#include <optional>

namespace dbkeeper {
namespace {

std::string rejection(const std::string& text) {
  try {
    CronExpression::parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(CronExpression, parses_numbers_ranges_steps_and_lists) {
  auto cron = CronExpression::parse("5,10-12 */6 1 * *");
  EXPECT_TRUE(cron.minute(5));
  EXPECT_TRUE(cron.minute(11));
  EXPECT_FALSE(cron.minute(6));
  EXPECT_FALSE(cron.minute(13));
  EXPECT_TRUE(cron.hour(0));
  EXPECT_TRUE(cron.hour(18));
  EXPECT_FALSE(cron.hour(3));
}

TEST(CronExpression, steps_over_a_range_and_from_a_start) {
  auto cron = CronExpression::parse("10-30/10 5/6 * * *");
  EXPECT_TRUE(cron.minute(10));
  EXPECT_TRUE(cron.minute(20));
  EXPECT_TRUE(cron.minute(30));
  EXPECT_FALSE(cron.minute(40));
  EXPECT_TRUE(cron.hour(5));
  EXPECT_TRUE(cron.hour(23));
  EXPECT_FALSE(cron.hour(6));
}

TEST(CronExpression, accepts_names_in_any_case) {
  auto cron = CronExpression::parse("0 4 * jan-Mar SUN,wed");
  EXPECT_TRUE(cron.month(1));
  EXPECT_TRUE(cron.month(3));
  EXPECT_FALSE(cron.month(4));
  EXPECT_TRUE(cron.day(15, 0));
  EXPECT_TRUE(cron.day(15, 3));
  EXPECT_FALSE(cron.day(15, 1));
}

TEST(CronExpression, seven_is_sunday) {
  auto cron = CronExpression::parse("0 0 * * 7");
  EXPECT_TRUE(cron.day(10, 0));
  EXPECT_FALSE(cron.day(10, 6));
}

TEST(CronExpression, either_day_field_matches_when_both_are_restricted) {
  auto cron = CronExpression::parse("0 0 1 * MON");
  EXPECT_TRUE(cron.day(1, 4));   // the 1st, a Thursday
  EXPECT_TRUE(cron.day(9, 1));   // a Monday, not the 1st
  EXPECT_FALSE(cron.day(9, 2));  // neither
}

TEST(CronExpression, both_day_fields_must_match_when_one_is_a_star) {
  auto cron = CronExpression::parse("0 0 * * MON");
  EXPECT_FALSE(cron.day(1, 4));
  EXPECT_TRUE(cron.day(9, 1));
}

TEST(CronExpression, expands_shorthands) {
  auto weekly = CronExpression::parse("@weekly");
  EXPECT_TRUE(weekly.minute(0));
  EXPECT_FALSE(weekly.minute(1));
  EXPECT_TRUE(weekly.day(3, 0));
  EXPECT_FALSE(weekly.day(3, 1));
  EXPECT_EQ(weekly.text(), "@weekly");
}

TEST(CronExpression, rejects_with_the_field_and_the_reason) {
  EXPECT_NE(rejection("0 4 * *").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(rejection("0 4 * * * *").find("found 6"), std::string::npos);
  EXPECT_NE(rejection("60 * * * *").find("minute field \"60\": 60 is out of range 0-59"), std::string::npos);
  EXPECT_NE(rejection("0 24 * * *").find("hour field"), std::string::npos);
  EXPECT_NE(rejection("0 0 0 * *").find("day of month field"), std::string::npos);
  EXPECT_NE(rejection("0 0 * 13 *").find("month field"), std::string::npos);
  EXPECT_NE(rejection("0 0 * * 8").find("day of week field"), std::string::npos);
  EXPECT_NE(rejection("0 0 * * FUN").find("unknown name \"FUN\""), std::string::npos);
  EXPECT_NE(rejection("0 0 * JANUARY *").find("unknown name"), std::string::npos);
  EXPECT_NE(rejection("*/0 * * * *").find("step"), std::string::npos);
  EXPECT_NE(rejection("5-1 * * * *").find("runs backwards"), std::string::npos);
  EXPECT_NE(rejection("1,,2 * * * *").find("empty list element"), std::string::npos);
  EXPECT_NE(rejection("a * * * *").find("is not a number"), std::string::npos);
  EXPECT_NE(rejection("@fortnightly").find("unknown shorthand"), std::string::npos);
  EXPECT_NE(rejection("").find("expected 5 fields"), std::string::npos);
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

using Clock = std::chrono::system_clock;

// Runs a test body in a time zone, then restores the previous one.
class TimeZone {
 public:
  explicit TimeZone(const char* zone) {
    if (const char* old = std::getenv("TZ")) m_previous = old;
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~TimeZone() {
    if (m_previous)
      ::setenv("TZ", m_previous->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }

 private:
  std::optional<std::string> m_previous;
};

Clock::time_point utc(const char* text) {
  std::tm tm{};
  std::sscanf(text, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return Clock::from_time_t(timegm(&tm));
}

std::string next(const char* cron, const char* after_utc) {
  auto when = CronExpression::parse(cron).next_after(utc(after_utc));
  if (!when) return "never";
  std::time_t t = Clock::to_time_t(*when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &tm);
  return text;
}

TEST(CronExpression_next_after, finds_known_answers_in_utc) {
  TimeZone zone("UTC");
  EXPECT_EQ(next("0 4 * * 0", "2026-11-25 17:00"), "2026-11-29 04:00");  // Sunday
  EXPECT_EQ(next("0 * * * *", "2026-11-25 10:00"), "2026-11-25 11:00");  // strictly after
  EXPECT_EQ(next("*/15 * * * *", "2026-11-25 10:07"), "2026-11-25 10:15");
  EXPECT_EQ(next("15-45/15 9-17 * * 1-5", "2026-11-27 17:50"), "2026-11-30 09:15");  // Fri evening -> Mon
  EXPECT_EQ(next("0 12 1 jan,jul *", "2026-07-02 00:00"), "2027-01-01 12:00");
  EXPECT_EQ(next("0 0 13 * 5", "2026-11-25 00:00"), "2026-11-27 00:00");  // Friday before the 13th
  EXPECT_EQ(next("0 0 13 * 5", "2026-12-11 00:00"), "2026-12-13 00:00");  // the 13th before Friday
  EXPECT_EQ(next("0 0 1 * *", "2026-12-31 23:59"), "2027-01-01 00:00");
  EXPECT_EQ(next("@yearly", "2026-11-25 00:00"), "2027-01-01 00:00");
  EXPECT_EQ(next("0 0 29 2 *", "2026-03-01 00:00"), "2028-02-29 00:00");
  EXPECT_EQ(next("0 0 30 2 *", "2026-03-01 00:00"), "never");
}

TEST(CronExpression_next_after, spring_forward_runs_a_skipped_fixed_time_job_after_the_gap) {
  TimeZone zone("Europe/Berlin");  // 2026-03-29 02:00 CET becomes 03:00 CEST (01:00 UTC)
  EXPECT_EQ(next("30 2 * * *", "2026-03-28 12:00"), "2026-03-29 01:00");
  EXPECT_EQ(next("30 2 * * *", "2026-03-29 01:00"), "2026-03-30 00:30");
  // Times that exist are unaffected.
  EXPECT_EQ(next("30 3 * * *", "2026-03-28 12:00"), "2026-03-29 01:30");
  // A wildcard job runs at every wall time that exists.
  EXPECT_EQ(next("*/30 * * * *", "2026-03-29 00:45"), "2026-03-29 01:00");
}

TEST(CronExpression_next_after, fall_back_runs_a_fixed_time_job_once) {
  TimeZone zone("Europe/Berlin");  // 2026-10-25 03:00 CEST becomes 02:00 CET (01:00 UTC)
  EXPECT_EQ(next("30 2 * * *", "2026-10-24 12:00"), "2026-10-25 00:30");    // 02:30 CEST
  EXPECT_EQ(next("30 2 * * *", "2026-10-25 00:30"), "2026-10-26 01:30");    // not 02:30 CET again
  EXPECT_EQ(next("*/30 * * * *", "2026-10-25 00:30"), "2026-10-25 01:00");  // wildcard: both
  EXPECT_EQ(next("0 * * * *", "2026-10-25 00:30"), "2026-10-25 01:00");     // hourly: both
}

TEST(CronExpression_next_after, uses_local_time) {
  TimeZone zone("America/New_York");  // UTC-5 in November
  EXPECT_EQ(next("0 4 * * *", "2026-11-25 00:00"), "2026-11-25 09:00");
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

TEST(CronExpression_longest_gap, is_the_period_a_late_run_is_judged_by) {
  TimeZone zone("UTC");
  auto gap = [](const char* cron) {
    auto found = CronExpression::parse(cron).longest_gap(utc("2026-11-25 17:00"));
    return found ? found->count() : -1;
  };
  EXPECT_EQ(gap("0 4 * * *"), 86400);
  EXPECT_EQ(gap("0 4 * * 0"), 7 * 86400);
  EXPECT_EQ(gap("0 * * * *"), 3600);
  EXPECT_EQ(gap("0 4 * * 1-5"), 3 * 86400);  // Friday to Monday
  EXPECT_EQ(gap("0 4 1 * *"), 31 * 86400);   // the longest month among the next runs
}

}  // namespace
}  // namespace dbkeeper
