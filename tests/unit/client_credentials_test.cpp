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

#include <unistd.h>

#include <fstream>

#include "core/child_process.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

// A SIGKILLed run leaves its credential directory; the next run removes it,
// and never one whose process still lives.
TEST(credentials_directory, removes_those_of_dead_runs_only) {
  TempDir parent;
  ChildProcess finished = ChildProcess::start(ProcessSpec{.argv = {"true"}});
  pid_t dead = finished.pid();
  finished.wait();
  auto stale = parent.path() / ("dbkeeper-credentials-" + std::to_string(dead) + "-abcdef");
  auto alive = parent.path() / ("dbkeeper-credentials-" + std::to_string(::getpid()) + "-ghijkl");
  auto unrelated = parent.path() / "dbkeeper-credentials-XYZ123";
  for (const auto& directory : {stale, alive, unrelated}) {
    std::filesystem::create_directory(directory);
    std::ofstream(directory / "client.cnf") << "[client]\npassword=\"secret\"\n";
  }
  {
    auto mine = credentials_directory(parent.path());
    EXPECT_TRUE(
        mine.path().filename().string().starts_with("dbkeeper-credentials-" + std::to_string(::getpid()) + "-"));
    EXPECT_FALSE(std::filesystem::exists(stale));
    EXPECT_TRUE(std::filesystem::exists(alive));
    EXPECT_TRUE(std::filesystem::exists(unrelated));
  }
  EXPECT_EQ(remove_stale_credentials(parent.path()), 0u);
}

}  // namespace
}  // namespace dbkeeper
