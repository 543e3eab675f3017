#include "core/duration.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;

TEST(parse_duration, reads_each_unit) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("90s"), 90s);
  EXPECT_EQ(parse_duration("15m"), 15min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("30d"), 30 * 24h);
  EXPECT_EQ(parse_duration("1w"), 7 * 24h);
}

TEST(parse_duration, adds_compound_parts) {
  EXPECT_EQ(parse_duration("1h30m15s"), 1h + 30min + 15s);
}

TEST(parse_duration, rejects_bad_input_with_reason) {
  for (const char* text : {"", "10", "s", "10x", "1.5h", "-5s", "5 s", "99999999999s"}) {
    try {
      parse_duration(text);
      ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config);
      EXPECT_NE(std::string(e.what()).find(std::string("\"") + text + "\""), std::string::npos) << e.what();
    }
  }
}

TEST(format_duration, writes_the_shortest_spelling) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(30 * 24h), "30d");
  EXPECT_EQ(format_duration(14 * 24h), "2w");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
}

TEST(format_duration, round_trips_through_parse) {
  for (Duration d : std::initializer_list<Duration>{1ms, 59s, 61min, 25h, 400 * 24h})
    EXPECT_EQ(parse_duration(format_duration(d)), d);
}

}  // namespace
}  // namespace dbkeeper
