#include <csignal>
#include <exception>
#include <iostream>

#include "agent/cli.h"

int main(int argc, char** argv) {
  // A dump or restore tool that dies while we write to its stdin must give
  // EPIPE (and an error naming the tool), not kill us with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return dbkeeper::run_cli(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "dbkeeper: " << e.what() << "\n";
    return dbkeeper::k_exit_failure;
  }
}
