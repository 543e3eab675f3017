#pragma once
// Runs every enabled collector on its own thread and interval, and serves
// their cached metrics plus dbkeeper_collector_success and
// dbkeeper_collector_duration_seconds through prometheus-cpp's Collectable
// interface. A collector that throws is recorded and logged; it never breaks
// a scrape or another collector.

#include <prometheus/collectable.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collectors/collector.h"

namespace dbkeeper {

struct CollectorPlan {
  // Settings per collector name; collectors missing here use their defaults.
  std::map<std::string, CollectorSettings, std::less<>> settings;
  BuildIdentity build;
  std::shared_ptr<const Repository> repository;
  std::shared_ptr<const AgentStatus> status;
};

class CollectorRunner final : public prometheus::Collectable {
 public:
  // `targets` must outlive the runner.
  CollectorRunner(const std::vector<Target>& targets, const CollectorPlan& plan);
  ~CollectorRunner() override;
  CollectorRunner(const CollectorRunner&) = delete;
  CollectorRunner& operator=(const CollectorRunner&) = delete;

  // Starts one thread per collector instance; each refreshes at once, then on its interval.
  void start();
  // Asks every thread to stop without waiting.
  void request_stop();
  // Asks every thread to stop and waits up to `grace` for them. Returns false
  // when some collector is still inside a refresh (a database call that has
  // not hit its timeout yet); the caller may then exit without waiting.
  bool stop(std::chrono::milliseconds grace = std::chrono::hours(1));
  // Refreshes every instance once on the calling thread (used before start,
  // and by tests that want a deterministic state).
  void refresh_all();

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Instance;
  void refresh(Instance& instance);
  std::vector<std::unique_ptr<Instance>> m_instances;
  std::mutex m_running_mutex;
  std::condition_variable m_running_changed;
  std::size_t m_running = 0;
};

}  // namespace dbkeeper
