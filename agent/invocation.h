#pragma once
// What a subcommand handler receives: its parsed options and the validated
// configuration.

#include <boost/program_options/variables_map.hpp>
#include <stdexcept>
#include <string>

#include "agent/config.h"

namespace dbkeeper {

struct Invocation {
  std::string command;
  boost::program_options::variables_map options;
  Config config;
};

// A mistake in how the command was called: exit code 2.
class UsageError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The configured target named by the TARGET argument, or UsageError with a suggestion.
const Target& require_target(const Invocation& invocation);

int command_backup(const Invocation& invocation);
int command_list(const Invocation& invocation);
int command_verify(const Invocation& invocation);
int command_restore(const Invocation& invocation);
int command_prune(const Invocation& invocation);
int command_queries(const Invocation& invocation);
int command_check(const Invocation& invocation);
int command_copy(const Invocation& invocation);

}  // namespace dbkeeper
