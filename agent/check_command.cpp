// `dbkeeper check [TARGET] [--json]`: one line per check and target, exit 1
// when any failed (backup/readiness_check.h says what is checked).

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "agent/cli.h"
#include "agent/invocation.h"
#include "agent/open_repository.h"
#include "backup/readiness_check.h"
#include "backup/repository_copy.h"

namespace dbkeeper {

int command_check(const Invocation& invocation) {
  std::vector<const Target*> targets;
  if (invocation.options.count("target"))
    targets.push_back(&require_target(invocation));
  else
    for (const auto& target : invocation.config.targets) targets.push_back(&target);
  Repository repository = open_repository(invocation.config);
  bool json_output = invocation.options["json"].as<bool>();
  nlohmann::json array = nlohmann::json::array();
  bool all_ok = true;
  for (const Target* target : targets) {
    auto results = check_target(*target, repository);
    for (const auto& name : copy_destinations(*target)) {
      try {
        auto storage = open_storage(invocation.config.find_repository(name)->storage);
        results.push_back(check_copy_repository(*target, name, *storage));
      } catch (const std::exception& e) {
        results.push_back({"repository-" + name, false, e.what()});
      }
    }
    for (const auto& result : results) {
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
