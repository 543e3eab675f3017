#include "collectors/agent_collector.h"

#include "collectors/metric_family_builder.h"

namespace dbkeeper {
namespace {

class AgentCollector final : public Collector {
 public:
  explicit AgentCollector(std::shared_ptr<const AgentStatus> status) : m_status(std::move(status)) {}

  void refresh() override {}

  std::vector<prometheus::MetricFamily> collect() const override {
    if (!m_status) return {};
    auto success = make_family("config_last_reload_success",
                               "1 if the last configuration load or reload succeeded, 0 if it was rejected.",
                               prometheus::MetricType::Gauge);
    add_gauge(success, {}, m_status->config_reload_success.load());
    auto timestamp =
        make_family("config_last_reload_timestamp_seconds",
                    "When the configuration was last loaded or a reload was attempted.", prometheus::MetricType::Gauge);
    add_gauge(timestamp, {}, m_status->config_reload_timestamp_seconds.load());
    return {success, timestamp};
  }

 private:
  std::shared_ptr<const AgentStatus> m_status;
};

}  // namespace

std::unique_ptr<Collector> make_agent_collector(const CollectorContext& context) {
  return std::make_unique<AgentCollector>(context.status);
}

}  // namespace dbkeeper
