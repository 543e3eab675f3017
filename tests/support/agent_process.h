#pragma once
// The real dbkeeper binary, started as a user would start it.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/child_process.h"

namespace dbkeeper::testing {

std::filesystem::path dbkeeper_binary();

// Runs `dbkeeper ARGS...` to completion.
CompletedProcess run_dbkeeper(const std::vector<std::string>& arguments,
                              const std::vector<std::pair<std::string, std::string>>& environment = {});

class AgentProcess {
 public:
  // Starts `dbkeeper run --config CONFIG` and waits until /healthz answers on `port`.
  AgentProcess(const std::filesystem::path& config, unsigned port, std::vector<std::string> extra_arguments = {},
               std::vector<std::pair<std::string, std::string>> environment = {});
  ~AgentProcess();

  unsigned port() const { return m_port; }
  std::string log() const;
  ChildProcess& process() { return *m_process; }
  // Sends `signal_number` and waits; returns the status and how long it took.
  std::pair<ExitStatus, std::chrono::milliseconds> stop(int signal_number = SIGTERM);

 private:
  unsigned m_port;
  std::filesystem::path m_log;
  std::optional<ChildProcess> m_process;
};

// The value of the first sample matching `series` (e.g.
// `dbkeeper_up{target="shop"}`) in an exposition text, as a PromQL selector
// matches: that name, and at least the labels given; nullopt when none does.
std::optional<double> sample_value(const std::string& exposition, const std::string& series);

// Polls `probe` every 100 ms until it returns true or `timeout` passes.
bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds timeout);

}  // namespace dbkeeper::testing
