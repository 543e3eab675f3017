#pragma once
// The row, lock-wait and deadlock series both engine collectors export under
// the same names, from each server's own counters (docs/metrics.md names the
// source of each).

#include <prometheus/metric_family.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dbkeeper {

struct DatabaseActivity {
  // Statements executed, by kind ("select", "insert", "update", "delete",
  // "other"; "all" where the server does not tell them apart). Counters.
  std::map<std::string, double> statements;
  // Transactions ended, by result ("commit", "rollback"). Counters.
  std::map<std::string, double> transactions;
  // Rows by operation: "read", "inserted", "updated", "deleted". Counters.
  std::map<std::string, double> rows;
  // Lock waits that happened, by kind ("row", "table"); counters.
  std::map<std::string, double> lock_waits;
  std::optional<double> lock_wait_seconds;  // time spent waiting on row locks; a counter
  std::optional<double> deadlocks;          // a counter
  // Sessions waiting on a lock right now, by lock type; a gauge.
  std::map<std::string, double> sessions_waiting;
};

std::vector<prometheus::MetricFamily> activity_families(const std::string& target, const DatabaseActivity& activity);

}  // namespace dbkeeper
