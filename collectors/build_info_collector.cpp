#include "collectors/build_info_collector.h"

#include "collectors/metric_family_builder.h"

namespace dbkeeper {
namespace {

class BuildInfoCollector final : public Collector {
 public:
  explicit BuildInfoCollector(BuildIdentity build) : m_build(std::move(build)) {}

  void refresh() override {}

  std::vector<prometheus::MetricFamily> collect() const override {
    auto family =
        make_family("build_info", "A metric with a constant 1, labelled with the version and revision of dbkeeper.",
                    prometheus::MetricType::Gauge);
    add_gauge(family, {{"version", m_build.version}, {"revision", m_build.revision}}, 1);
    return {family};
  }

 private:
  BuildIdentity m_build;
};

}  // namespace

std::unique_ptr<Collector> make_build_info_collector(const CollectorContext& context) {
  return std::make_unique<BuildInfoCollector>(context.build);
}

}  // namespace dbkeeper
