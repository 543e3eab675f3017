#include "core/file_tail.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

TEST(file_tail, keeps_the_end_of_a_long_file_and_all_of_a_short_one) {
  TempDir dir;
  auto path = dir.path() / "server.log";
  std::ofstream(path) << std::string(5000, 'a') << "the reason it stopped\n";
  EXPECT_EQ(file_tail(path, 22), "the reason it stopped\n");
  EXPECT_EQ(file_tail(path).size(), 3000u);
  EXPECT_EQ(file_tail(path, 100000).size(), 5022u);
  EXPECT_EQ(file_tail(dir.path() / "absent.log"), "");
}

}  // namespace
}  // namespace dbkeeper
