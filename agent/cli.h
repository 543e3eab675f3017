#pragma once
// The `dbkeeper` command line: one table of subcommands, each with its own
// Boost.Program_options description. Exit codes: 0 success, 1 the operation
// failed, 2 usage or configuration error.

namespace dbkeeper {

inline constexpr int k_exit_success = 0;
inline constexpr int k_exit_failure = 1;
inline constexpr int k_exit_usage = 2;

int run_cli(int argc, char** argv);

}  // namespace dbkeeper
