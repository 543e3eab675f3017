#include "agent/daemon.h"

#include "backup/client_credentials.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "agent/http_endpoint.h"
#include "agent/job_pool.h"
#include "agent/log_archiver.h"
#include "agent/open_repository.h"
#include "agent/scheduler.h"
#include "agent/service_notifier.h"
#include "agent/version.h"
#include "backup/repository.h"
#include "backup/scratch_instance.h"
#include "collectors/collector_runner.h"
#include "core/lock_file.h"
#include "core/stop_request.h"

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

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The exposition always reads the current collectors, which a reload swaps.
class CurrentCollectors final : public prometheus::Collectable {
 public:
  void set(std::shared_ptr<prometheus::Collectable> collectable) {
    std::lock_guard lock(m_mutex);
    m_current = std::move(collectable);
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::shared_ptr<prometheus::Collectable> current;
    {
      std::lock_guard lock(m_mutex);
      current = m_current;
    }
    return current ? current->Collect() : std::vector<prometheus::MetricFamily>{};
  }

 private:
  mutable std::mutex m_mutex;
  std::shared_ptr<prometheus::Collectable> m_current;
};

class Daemon {
 public:
  explicit Daemon(const Config& config)
      : m_config(std::make_shared<const Config>(config)),
        m_status(std::make_shared<AgentStatus>()),
        m_metrics(std::make_shared<CurrentCollectors>()),
        m_pool(static_cast<std::size_t>(config.agent.max_concurrent_jobs)) {
    m_status->config_reload_timestamp_seconds = now_seconds();
  }

  int run() {
    try {
      m_repository = std::make_shared<const Repository>(open_repository(*m_config));
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return 1;
    }
    clean_up_interrupted(*m_config, *m_repository);
    start_collectors(*m_config);
    try {
      m_endpoint = std::make_unique<HttpEndpoint>(m_config->agent.listen_address,
                                                  std::vector<std::shared_ptr<prometheus::Collectable>>{m_metrics});
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      stop_collectors();
      return 1;
    }
    m_scheduler = std::make_unique<Scheduler>(m_config, m_repository, m_pool, true);
    m_log_archiver = std::make_unique<LogArchiver>(m_config, m_repository);
    std::string ports;
    for (int port : m_endpoint->listening_ports()) ports += (ports.empty() ? "" : ",") + std::to_string(port);
    spdlog::info("dbkeeper {} ({}) serving /metrics on {} (port {}) for {} target(s)", k_version, k_revision,
                 m_config->agent.listen_address, ports, m_config->targets.size());
    m_notifier.ready(status_line());

    sigset_t signals = handled_signals();
    for (;;) {
      m_notifier.watchdog_tick();
      m_notifier.status(status_line());
      auto tick = std::chrono::microseconds(1000000);
      if (auto watchdog = m_notifier.watchdog_interval()) tick = std::min(tick, *watchdog);
      timespec timeout{static_cast<time_t>(tick.count() / 1000000), static_cast<long>((tick.count() % 1000000) * 1000)};
      siginfo_t info{};
      int signal_number = sigtimedwait(&signals, &info, &timeout);
      if (signal_number < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        spdlog::error("waiting for signals failed: {}", std::strerror(errno));
        break;
      }
      if (signal_number == SIGHUP) {
        reload();
        continue;
      }
      spdlog::info("received {}, shutting down", strsignal(signal_number));
      break;
    }
    return shut_down();
  }

 private:
  std::string status_line() const {
    auto running = m_pool.running();
    if (!running.empty()) {
      std::string line = "running: ";
      for (std::size_t i = 0; i < running.size(); ++i) line += (i ? ", " : "") + running[i];
      return line;
    }
    auto upcoming = m_scheduler ? m_scheduler->upcoming() : std::vector<std::string>{};
    return upcoming.empty() ? "idle, nothing scheduled" : "idle; next: " + upcoming.front();
  }

  static void clean_up_interrupted(const Config& config, const Repository& repository) {
    // A backup killed with the previous agent left its objects and attempt
    // marker; it is never listed, and this is where it goes away.
    for (const auto& target : config.targets) {
      try {
        repository.clean_up_interrupted(target.name);
        // A verification killed with the previous agent left its scratch
        // instance's directory (the server died with the agent); unless a
        // verification from the command line runs now and owns it.
        auto records = repository.target_directory(target.name) / "scratch";
        if (std::filesystem::exists(records))
          if (auto lock = LockFile::try_acquire(repository.target_directory(target.name) / "verify.lock"))
            remove_recorded_scratch_instances(records);
      } catch (const std::exception& e) {
        spdlog::warn("cleaning up interrupted backups of target '{}' failed: {}", target.name, e.what());
      }
    }
    // A killed run leaves its option files with passwords behind.
    if (auto removed = remove_stale_credentials())
      spdlog::info("removed {} credential directory(ies) left by killed runs", removed);
  }

  void start_collectors(const Config& config) {
    CollectorPlan plan{config.collectors, BuildIdentity{k_version, k_revision}, m_repository, m_status};
    m_runner = std::make_shared<CollectorRunner>(m_config->targets, plan);
    m_runner->start();
    m_metrics->set(m_runner);
  }

  // Returns false when a collector is still blocked on a database.
  bool stop_collectors() {
    if (!m_runner) return true;
    m_runner->request_stop();
    return m_runner->stop(k_collector_stop_grace);
  }

  void reload() {
    m_notifier.reloading();
    spdlog::info("SIGHUP received: reloading {}", m_config->path.string());
    m_status->config_reload_timestamp_seconds = now_seconds();
    std::shared_ptr<const Config> candidate;
    std::shared_ptr<const Repository> candidate_repository;
    try {
      candidate = std::make_shared<const Config>(load_config(m_config->path));
      candidate_repository = std::make_shared<const Repository>(open_repository(*candidate));
    } catch (const ConfigInvalid& e) {
      for (const auto& problem : e.problems()) spdlog::error("{}", problem);
      spdlog::error("configuration reload rejected ({} problem(s)); still running the previous configuration",
                    e.problems().size());
      m_status->config_reload_success = 0;
      m_notifier.ready(status_line());
      return;
    } catch (const std::exception& e) {
      spdlog::error("configuration reload rejected: {}; still running the previous configuration", e.what());
      m_status->config_reload_success = 0;
      m_notifier.ready(status_line());
      return;
    }
    std::unique_ptr<HttpEndpoint> endpoint;
    if (candidate->agent.listen_address != m_config->agent.listen_address) {
      try {
        endpoint = std::make_unique<HttpEndpoint>(candidate->agent.listen_address,
                                                  std::vector<std::shared_ptr<prometheus::Collectable>>{m_metrics});
      } catch (const std::exception& e) {
        spdlog::error("configuration reload rejected: {}; still running the previous configuration", e.what());
        m_status->config_reload_success = 0;
        m_notifier.ready(status_line());
        return;
      }
    }
    // Running jobs keep the configuration they started with.
    m_scheduler.reset();
    m_log_archiver.reset();
    auto old_runner = m_runner;
    auto old_config = m_config;
    m_config = candidate;
    m_repository = candidate_repository;
    start_collectors(*m_config);
    if (old_runner && !old_runner->stop(k_collector_stop_grace)) {
      // A collector is stuck on a database; keep it (and what it reads) alive until it returns.
      m_retired.push_back({old_config, old_runner});
    }
    if (endpoint) m_endpoint = std::move(endpoint);
    m_scheduler = std::make_unique<Scheduler>(m_config, m_repository, m_pool, false);
    m_log_archiver = std::make_unique<LogArchiver>(m_config, m_repository);
    m_status->config_reload_success = 1;
    spdlog::info("configuration reloaded: {} target(s)", m_config->targets.size());
    m_notifier.ready(status_line());
  }

  int shut_down() {
    m_notifier.stopping();
    m_scheduler.reset();
    // Running jobs see the stop request, stop their dump tools and clean up.
    request_stop();
    m_log_archiver.reset();
    m_pool.close();
    if (m_runner) m_runner->request_stop();
    m_endpoint.reset();
    bool collectors_stopped = stop_collectors();
    if (!collectors_stopped || !m_retired.empty()) {
      // A collector is blocked in a database call until its timeout. Its
      // results are only in memory, so nothing is lost by not waiting.
      spdlog::warn("a collector is still waiting on a database; exiting without it");
      spdlog::info("stopped");
      spdlog::default_logger()->flush();
      std::_Exit(0);
    }
    return 0;
  }

  struct Retired {
    std::shared_ptr<const Config> config;
    std::shared_ptr<CollectorRunner> runner;
  };

  std::shared_ptr<const Config> m_config;
  std::shared_ptr<const Repository> m_repository;  // opened from m_config, once
  std::shared_ptr<AgentStatus> m_status;
  std::shared_ptr<CurrentCollectors> m_metrics;
  ServiceNotifier m_notifier;
  JobPool m_pool;
  std::shared_ptr<CollectorRunner> m_runner;
  std::unique_ptr<HttpEndpoint> m_endpoint;
  std::unique_ptr<Scheduler> m_scheduler;
  std::unique_ptr<LogArchiver> m_log_archiver;
  std::vector<Retired> m_retired;
};

}  // namespace

int run_daemon(const Config& config) {
  // Signals are taken synchronously with sigtimedwait on this thread: no
  // async-signal-safety puzzles, and every thread started below inherits the
  // blocked mask so none of them is picked to run a handler.
  sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int code = 0;
  {
    Daemon daemon(config);
    code = daemon.run();
  }
  spdlog::info("stopped");
  return code;
}

}  // namespace dbkeeper
