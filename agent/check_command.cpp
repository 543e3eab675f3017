// `dbkeeper check [TARGET] [--json]`: one line per check and target, exit 1
// when any failed (backup/readiness_check.h says what is checked).

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "agent/cli.h"
#include "agent/invocation.h"
#include "backup/readiness_check.h"

namespace dbkeeper {

int command_check(const Invocation& invocation) {
  std::vector<const Target*> targets;
  if (invocation.options.count("target"))
    targets.push_back(&require_target(invocation));
  else
    for (const auto& target : invocation.config.targets) targets.push_back(&target);
  Repository repository(invocation.config.agent.repository);
  bool json_output = invocation.options["json"].as<bool>();
  nlohmann::json array = nlohmann::json::array();
  bool all_ok = true;
  for (const Target* target : targets) {
    for (const auto& result : check_target(*target, repository)) {
      all_ok = all_ok && result.ok;
      if (json_output)
        array.push_back(
            {{"target", target->name}, {"check", result.check}, {"ok", result.ok}, {"detail", result.detail}});
      else
        std::printf("%-12s %-16s %s%s\n", target->name.c_str(), result.check.c_str(),
                    result.ok ? "ok: " : "FAIL: ", result.detail.c_str());
    }
  }
  if (json_output) std::cout << array.dump(2) << "\n";
  return all_ok ? k_exit_success : k_exit_failure;
}

}  // namespace dbkeeper
