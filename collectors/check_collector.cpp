#include "collectors/check_collector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "backup/readiness_check.h"
#include "collectors/metric_family_builder.h"

namespace dbkeeper {
namespace {

class CheckCollector final : public Collector {
 public:
  CheckCollector(const Target& target, const Repository& repository, Duration timeout)
      : m_target(target), m_repository(repository) {
    m_target.connect_timeout = std::min(m_target.connect_timeout, timeout);
  }

  void refresh() override {
    auto results = check_target(m_target, m_repository);
    std::lock_guard lock(m_mutex);
    for (const auto& result : results) {
      auto previous = m_results.find(result.check);
      bool was_ok = previous == m_results.end() || previous->second;
      if (!result.ok && was_ok)
        spdlog::warn("target '{}': check '{}' failed: {}", m_target.name, result.check, result.detail);
      m_results[result.check] = result.ok;
    }
  }

  std::vector<prometheus::MetricFamily> collect() const override {
    auto family =
        make_family("check_success", "1 if the target passed this readiness check (dbkeeper check), 0 if it failed.",
                    prometheus::MetricType::Gauge);
    std::lock_guard lock(m_mutex);
    for (const auto& [check, ok] : m_results)
      add_gauge(family, {{"target", m_target.name}, {"check", check}}, ok ? 1 : 0);
    return {family};
  }

 private:
  Target m_target;
  Repository m_repository;
  mutable std::mutex m_mutex;
  std::map<std::string, bool> m_results;
};

}  // namespace

std::unique_ptr<Collector> make_check_collector(const CollectorContext& context) {
  return std::make_unique<CheckCollector>(*context.target, *context.repository, context.settings.timeout);
}

}  // namespace dbkeeper
