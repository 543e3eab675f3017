#pragma once
// State of the agent that only the daemon knows and the agent collector
// exports: the outcome of the last configuration (re)load.

#include <atomic>

namespace dbkeeper {

struct AgentStatus {
  std::atomic<int> config_reload_success{1};
  std::atomic<double> config_reload_timestamp_seconds{0};
};

}  // namespace dbkeeper
