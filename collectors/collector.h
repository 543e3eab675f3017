#pragma once
// A collector gathers one group of metrics. refresh() does the expensive part
// (queries, file reads) on the collector's own interval and may throw;
// collect() only reads what the last refresh cached, so a scrape never waits
// on a database.

#include <prometheus/metric_family.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backup/target.h"
#include "collectors/agent_status.h"
#include "core/duration.h"

namespace dbkeeper {

class Collector {
 public:
  virtual ~Collector() = default;
  virtual void refresh() = 0;
  virtual std::vector<prometheus::MetricFamily> collect() const = 0;
};

struct CollectorSettings {
  bool enabled = true;
  Duration interval = std::chrono::seconds(15);
  Duration timeout = std::chrono::seconds(5);
};

class Repository;

struct BuildIdentity {
  std::string version;
  std::string revision;
};

// What a collector is built from. `target` is set for per-target collectors.
struct CollectorContext {
  const Target* target = nullptr;
  // The process's repository, opened once (with the stores of targets whose
  // backups are made elsewhere).
  std::shared_ptr<const Repository> repository;
  std::shared_ptr<const AgentStatus> status;
  CollectorSettings settings;
  BuildIdentity build;
};

enum class CollectorScope { agent, target };

struct CollectorDefinition {
  std::string_view name;
  std::string_view description;
  CollectorScope scope;
  bool enabled_by_default;
  Duration default_interval;
  std::unique_ptr<Collector> (*create)(const CollectorContext& context);
};

// The table of every collector, in registry.cpp.
std::span<const CollectorDefinition> collector_definitions();
const CollectorDefinition* find_collector(std::string_view name);
// The settings a collector has when the configuration says nothing about it.
CollectorSettings default_settings(const CollectorDefinition& definition);

}  // namespace dbkeeper
