#include "backup/client_credentials.h"

#include <gtest/gtest.h>

namespace dbkeeper {
namespace {

TEST(mysql_option_file_text, quotes_and_escapes_the_password) {
  EXPECT_EQ(mysql_option_file_text(Secret("plain")), "[client]\npassword=\"plain\"\n");
  EXPECT_EQ(mysql_option_file_text(Secret(R"(a"b\c #d)")), "[client]\npassword=\"a\\\"b\\\\c #d\"\n");
}

TEST(pgpass_text, escapes_colons_and_backslashes) {
  EXPECT_EQ(pgpass_text(Secret("plain")), "*:*:*:*:plain\n");
  EXPECT_EQ(pgpass_text(Secret(R"(a:b\c)")), "*:*:*:*:a\\:b\\\\c\n");
}

}  // namespace
}  // namespace dbkeeper
