#include <exception>
#include <iostream>

#include "agent/cli.h"

int main(int argc, char** argv) {
  try {
    return dbkeeper::run_cli(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "dbkeeper: " << e.what() << "\n";
    return dbkeeper::k_exit_failure;
  }
}
