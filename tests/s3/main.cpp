#include <gtest/gtest.h>

#include "tests/support/s3_server.h"
#include "tests/support/test_servers.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  dbkeeper::testing::add_s3_server_environment();
  dbkeeper::testing::add_servers_environment();
  return RUN_ALL_TESTS();
}
