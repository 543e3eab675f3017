#include "collectors/up_collector.h"

#include <algorithm>
#include <atomic>

#include "backup/engine.h"
#include "collectors/metric_family_builder.h"

namespace dbkeeper {
namespace {

class UpCollector final : public Collector {
 public:
  UpCollector(const Target& target, Duration timeout) : m_target(target), m_engine(create_engine(target.engine)) {
    // A probe must finish within the collector's timeout even when the
    // target allows a slower connect.
    m_target.connect_timeout = std::min(m_target.connect_timeout, timeout);
  }

  void refresh() override {
    try {
      m_engine->probe(m_target);
      m_up = 1;
    } catch (...) {
      m_up = 0;
      throw;
    }
  }

  std::vector<prometheus::MetricFamily> collect() const override {
    auto family = make_family("up", "1 if the last connection to the target's database server succeeded, 0 if not.",
                              prometheus::MetricType::Gauge);
    add_gauge(family, {{"target", m_target.name}}, m_up.load());
    return {family};
  }

 private:
  Target m_target;
  std::unique_ptr<Engine> m_engine;
  // 0 until the first probe answers: an agent that has not reached the
  // server yet must not claim it is up.
  std::atomic<int> m_up{0};
};

}  // namespace

std::unique_ptr<Collector> make_up_collector(const CollectorContext& context) {
  return std::make_unique<UpCollector>(*context.target, context.settings.timeout);
}

}  // namespace dbkeeper
