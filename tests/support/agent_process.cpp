#include "tests/support/agent_process.h"

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "tests/support/http_get.h"

namespace dbkeeper::testing {

using namespace std::chrono_literals;

std::filesystem::path dbkeeper_binary() {
  return DBKEEPER_BINARY;
}

CompletedProcess run_dbkeeper(const std::vector<std::string>& arguments,
                              const std::vector<std::pair<std::string, std::string>>& environment) {
  ProcessSpec spec;
  spec.argv.push_back(dbkeeper_binary().string());
  spec.argv.insert(spec.argv.end(), arguments.begin(), arguments.end());
  spec.environment = environment;
  return run_process(spec, 60s);
}

AgentProcess::AgentProcess(const std::filesystem::path& config, unsigned port, std::vector<std::string> extra_arguments,
                           std::vector<std::pair<std::string, std::string>> environment)
    : m_port(port), m_log(config.parent_path() / ("agent-" + std::to_string(port) + ".log")) {
  std::vector<std::string> argv{dbkeeper_binary().string(), "run", "--config", config.string()};
  argv.insert(argv.end(), extra_arguments.begin(), extra_arguments.end());
  m_process = ChildProcess::start(ProcessSpec{.argv = argv,
                                              .environment = std::move(environment),
                                              .stdout_to = ProcessOutput::to_file(m_log),
                                              .stderr_to = ProcessOutput::to_file(m_log)});
  bool ready = eventually(
      [&] {
        if (m_process->wait_for(0ms)) return true;
        try {
          return http_get(m_port, "/healthz", 1s).status == 200;
        } catch (const Error&) {
          return false;
        }
      },
      20s);
  if (!ready || !m_process->running())
    throw Error(ErrorKind::process,
                "dbkeeper run did not become healthy on port " + std::to_string(port) + ":\n" + log());
}

AgentProcess::~AgentProcess() {
  if (m_process && m_process->running()) m_process->terminate(10s, SIGTERM);
}

std::string AgentProcess::log() const {
  std::ifstream in(m_log);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::pair<ExitStatus, std::chrono::milliseconds> AgentProcess::stop(int signal_number) {
  auto started = std::chrono::steady_clock::now();
  ::kill(m_process->pid(), signal_number);
  auto status = m_process->wait_for(30s);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (!status) status = m_process->terminate(1s, SIGKILL);
  return {*status, elapsed};
}

namespace {

// `name{a="x",b="y"}` split into the name and its labels (values unescaped).
std::pair<std::string, std::map<std::string, std::string>> parse_series(std::string_view series) {
  auto brace = series.find('{');
  std::pair<std::string, std::map<std::string, std::string>> parsed{std::string(series.substr(0, brace)), {}};
  if (brace == std::string_view::npos) return parsed;
  std::size_t at = brace + 1;
  while (at < series.size() && series[at] != '}') {
    auto equals = series.find('=', at);
    std::string key(series.substr(at, equals - at));
    std::string value;
    at = equals + 2;  // past ="
    for (; at < series.size() && series[at] != '"'; ++at) {
      if (series[at] == '\\' && at + 1 < series.size()) ++at;
      value += series[at];
    }
    parsed.second[key] = value;
    at += 1;  // past the closing quote
    if (at < series.size() && series[at] == ',') ++at;
  }
  return parsed;
}

}  // namespace

std::optional<double> sample_value(const std::string& exposition, const std::string& series) {
  auto [name, labels] = parse_series(series);
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || !line.starts_with(name)) continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    auto [line_name, line_labels] = parse_series(std::string_view(line).substr(0, space));
    if (line_name != name) continue;
    bool all = true;
    for (const auto& [key, value] : labels) {
      auto it = line_labels.find(key);
      all = all && it != line_labels.end() && it->second == value;
    }
    if (all) return std::stod(line.substr(space + 1));
  }
  return std::nullopt;
}

bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (probe()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
}

}  // namespace dbkeeper::testing
