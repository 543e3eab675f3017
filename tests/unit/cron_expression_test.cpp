#include "core/cron_expression.h"

#include <gtest/gtest.h>

#include "core/error.h"

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
