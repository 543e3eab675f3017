#pragma once
// Small helpers to build prometheus::MetricFamily values by hand, as a
// Collectable does at scrape time. Every name gets the dbkeeper_ prefix here.

#include <prometheus/metric_family.h>

#include <string>
#include <string_view>
#include <vector>

namespace dbkeeper {

inline constexpr std::string_view k_metric_prefix = "dbkeeper_";

prometheus::MetricFamily make_family(std::string_view name, std::string_view help, prometheus::MetricType type);

void add_gauge(prometheus::MetricFamily& family, std::vector<prometheus::ClientMetric::Label> labels, double value);
void add_counter(prometheus::MetricFamily& family, std::vector<prometheus::ClientMetric::Label> labels, double value);

// Appends `more` to `families`, merging families of the same name so that the
// exposition never has one name twice (per-target collectors share names).
void merge_families(std::vector<prometheus::MetricFamily>& families, std::vector<prometheus::MetricFamily> more);

}  // namespace dbkeeper
