#include <gtest/gtest.h>

#include "tests/support/test_servers.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  dbkeeper::testing::add_servers_environment();
  return RUN_ALL_TESTS();
}
