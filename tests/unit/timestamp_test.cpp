#include "core/timestamp.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "backup/manifest.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

TEST(parse_timestamp, reads_utc_and_offsets) {
  EXPECT_EQ(parse_timestamp("2026-11-25T17:40:00Z"), parse_utc("2026-11-25T17:40:00.000Z"));
  EXPECT_EQ(parse_timestamp("2026-11-25 17:40:00.25Z"), parse_utc("2026-11-25T17:40:00.250Z"));
  EXPECT_EQ(parse_timestamp("2026-11-25T18:40:00+01:00"), parse_utc("2026-11-25T17:40:00.000Z"));
  EXPECT_EQ(parse_timestamp("2026-11-25T12:10-0530"), parse_utc("2026-11-25T17:40:00.000Z"));
  EXPECT_EQ(parse_timestamp("2026-11-26T03:40:00+10"), parse_utc("2026-11-25T17:40:00.000Z"));
}

TEST(parse_timestamp, reads_local_time_without_a_zone) {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  ::setenv("TZ", "Europe/Berlin", 1);
  ::tzset();
  EXPECT_EQ(parse_timestamp("2026-11-25 18:40"), parse_utc("2026-11-25T17:40:00.000Z"));
  EXPECT_EQ(parse_timestamp("2026-07-01 12:00:00"), parse_utc("2026-07-01T10:00:00.000Z"));  // summer time
  if (old)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
}

TEST(parse_timestamp, refuses_what_is_not_a_time) {
  for (const char* text : {"", "yesterday", "2026-11-25", "2026-13-01T00:00Z", "2026-02-29T00:00Z", "2026-11-25T24:00Z",
                           "2026-11-25T17:40:00 UTC", "2026-11-25T17:40:00.Z", "2026-11-25T17:40:00+1"}) {
    try {
      parse_timestamp(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config);
      EXPECT_NE(std::string(e.what()).find("2026-11-25T17:40:00Z"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(parse_timestamp("2028-02-29T00:00Z"), parse_utc("2028-02-29T00:00:00.000Z"));
}

}  // namespace
}  // namespace dbkeeper
