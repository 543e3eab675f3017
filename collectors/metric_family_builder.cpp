#include "collectors/metric_family_builder.h"

#include <algorithm>

namespace dbkeeper {

prometheus::MetricFamily make_family(std::string_view name, std::string_view help, prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::string(k_metric_prefix) + std::string(name);
  family.help = std::string(help);
  family.type = type;
  return family;
}

void add_gauge(prometheus::MetricFamily& family, std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
}

void add_counter(prometheus::MetricFamily& family, std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = value;
  family.metric.push_back(std::move(metric));
}

void merge_families(std::vector<prometheus::MetricFamily>& families, std::vector<prometheus::MetricFamily> more) {
  for (auto& family : more) {
    auto existing = std::find_if(families.begin(), families.end(),
                                 [&](const prometheus::MetricFamily& f) { return f.name == family.name; });
    if (existing == families.end()) {
      families.push_back(std::move(family));
    } else {
      for (auto& metric : family.metric) existing->metric.push_back(std::move(metric));
    }
  }
}

}  // namespace dbkeeper
