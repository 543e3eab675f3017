// Starts the tests' radosgw (tests/support/s3_server.h) for scripts such as
// bench/copy_bench: creates the bucket named by the first argument, prints
// "ENDPOINT ACCESS_KEY SECRET_KEY" on one line, and stops the store when
// its standard input closes.

#include <iostream>
#include <string>

#include "backup/storage/s3_client.h"
#include "tests/support/s3_server.h"

int main(int argc, char** argv) {
  using namespace dbkeeper;
  if (argc != 2) {
    std::cerr << "usage: s3_server_tool BUCKET\n";
    return 2;
  }
  try {
    testing::S3Server server;
    server.start();
    S3Client(server.settings(argv[1])).send(S3Request{.method = "PUT", .operation = "create bucket"});
    std::cout << server.endpoint() << " " << testing::k_s3_access_key << " " << testing::k_s3_secret_key << std::endl;
    for (std::string line; std::getline(std::cin, line);) {
    }
    server.stop();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "s3_server_tool: " << e.what() << "\n";
    return 1;
  }
}
