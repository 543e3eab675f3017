#include "collectors/database_activity.h"

#include "collectors/metric_family_builder.h"

namespace dbkeeper {

using prometheus::MetricType;

std::vector<prometheus::MetricFamily> activity_families(const std::string& target, const DatabaseActivity& activity) {
  auto statements = make_family("statements_total", "Statements the server executed, by kind.", MetricType::Counter);
  for (const auto& [kind, count] : activity.statements)
    add_counter(statements, {{"target", target}, {"kind", kind}}, count);
  auto transactions = make_family("transactions_total", "Transactions that ended, by result.", MetricType::Counter);
  for (const auto& [result, count] : activity.transactions)
    add_counter(transactions, {{"target", target}, {"result", result}}, count);
  auto rows = make_family("rows_total", "Rows read, inserted, updated and deleted, from the server's counters.",
                          MetricType::Counter);
  for (const auto& [operation, count] : activity.rows)
    add_counter(rows, {{"target", target}, {"operation", operation}}, count);
  auto waits = make_family("lock_waits_total", "Lock waits that happened, by kind of lock.", MetricType::Counter);
  for (const auto& [kind, count] : activity.lock_waits) add_counter(waits, {{"target", target}, {"kind", kind}}, count);
  auto wait_time =
      make_family("lock_wait_seconds_total", "Time sessions spent waiting on row locks.", MetricType::Counter);
  if (activity.lock_wait_seconds)
    add_counter(wait_time, {{"target", target}, {"kind", "row"}}, *activity.lock_wait_seconds);
  auto deadlocks = make_family("deadlocks_total", "Deadlocks the server detected (one transaction was rolled back).",
                               MetricType::Counter);
  if (activity.deadlocks) add_counter(deadlocks, {{"target", target}}, *activity.deadlocks);
  auto waiting = make_family("sessions_waiting_on_locks", "Sessions waiting on a lock right now, by lock type.",
                             MetricType::Gauge);
  for (const auto& [type, count] : activity.sessions_waiting)
    add_gauge(waiting, {{"target", target}, {"lock_type", type}}, count);
  return {statements, transactions, rows, waits, wait_time, deadlocks, waiting};
}

}  // namespace dbkeeper
