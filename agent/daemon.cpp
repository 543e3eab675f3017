#include "agent/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "agent/http_endpoint.h"
#include "agent/version.h"
#include "backup/repository.h"
#include "collectors/collector_runner.h"

namespace dbkeeper {
namespace {

// systemd waits TimeoutStopSec; we promise to be gone well within 5 s.
constexpr std::chrono::milliseconds k_collector_stop_grace{2000};

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

int run_daemon(const Config& config) {
  // Signals are taken synchronously with sigtimedwait on this thread: no
  // async-signal-safety puzzles, and every thread started below inherits the
  // blocked mask so none of them is picked to run a handler.
  sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // A backup killed with the previous agent left a ".partial" directory;
  // it is never listed, and this is where it goes away.
  Repository repository(config.agent.repository);
  for (const auto& target : config.targets) {
    try {
      repository.clean_up_interrupted(target.name);
    } catch (const std::exception& e) {
      spdlog::warn("cleaning up interrupted backups of target '{}' failed: {}", target.name, e.what());
    }
  }

  CollectorPlan plan{config.collectors, BuildIdentity{k_version, k_revision}, config.agent.repository};
  auto runner = std::make_shared<CollectorRunner>(config.targets, plan);
  std::unique_ptr<HttpEndpoint> endpoint;
  try {
    endpoint = std::make_unique<HttpEndpoint>(config.agent.listen_address,
                                              std::vector<std::shared_ptr<prometheus::Collectable>>{runner});
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  runner->start();
  std::string ports;
  for (int port : endpoint->listening_ports()) ports += (ports.empty() ? "" : ",") + std::to_string(port);
  spdlog::info("dbkeeper {} ({}) serving /metrics on {} (port {}) for {} target(s)", k_version, k_revision,
               config.agent.listen_address, ports, config.targets.size());

  for (;;) {
    siginfo_t info{};
    timespec tick{1, 0};
    int signal_number = sigtimedwait(&signals, &info, &tick);
    if (signal_number < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      spdlog::error("waiting for signals failed: {}", std::strerror(errno));
      break;
    }
    if (signal_number == SIGHUP) {
      spdlog::warn("SIGHUP received: configuration reload is not available yet; restart dbkeeper to apply changes");
      continue;
    }
    spdlog::info("received {}, shutting down", strsignal(signal_number));
    break;
  }

  // Collectors wind down while civetweb closes (which takes about a second).
  runner->request_stop();
  endpoint.reset();
  spdlog::debug("http endpoint closed");
  if (!runner->stop(k_collector_stop_grace)) {
    // A collector is blocked in a database call until its timeout. Its
    // results are only in memory, so nothing is lost by not waiting.
    spdlog::warn("a collector is still waiting on a database; exiting without it");
    spdlog::info("stopped");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace dbkeeper
