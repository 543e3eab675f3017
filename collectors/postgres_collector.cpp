#include "collectors/postgres_collector.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "backup/engines/postgres_engine.h"
#include "collectors/database_activity.h"
#include "collectors/metric_family_builder.h"
#include "collectors/statement_summary.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

using prometheus::MetricType;

double number(const SqlValue& value) {
  return value ? std::stod(*value) : 0;
}

struct StatementSample {
  double calls = 0;
  double total_ms = 0;
};

class PostgresCollector final : public Collector {
 public:
  PostgresCollector(const Target& target, Duration timeout) : m_target(target), m_timeout(timeout) {}

  void refresh() override {
    auto options = postgres_connect_options(m_target);
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(m_timeout);
    options.connect_timeout = std::max(std::chrono::seconds(2), std::min(options.connect_timeout, seconds));
    options.statement_timeout = std::max(std::chrono::seconds(1), seconds);
    auto db = PostgresConnection::connect(options);
    std::vector<prometheus::ClientMetric::Label> target_label{{"target", m_target.name}};
    std::vector<prometheus::MetricFamily> families;

    double threshold_ms = static_cast<double>(m_target.queries.slow_threshold.count());
    auto long_running = make_family(
        "long_running_queries", "Statements running longer than queries.slow_threshold right now.", MetricType::Gauge);
    add_gauge(long_running, target_label,
              number(db.query("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> "
                              "pg_backend_pid() AND backend_type = 'client backend' AND now() - query_start > "
                              "interval '" +
                              std::to_string(static_cast<long long>(threshold_ms)) + " milliseconds'")
                         .scalar()));
    families.push_back(long_running);

    auto connections = make_family("connections", "Client connections by state.", MetricType::Gauge);
    // The same state names as MariaDB/MySQL: what is not one of these three is "other".
    std::map<std::string, double> by_state{{"active", 0}, {"idle", 0}, {"idle_in_transaction", 0}, {"other", 0}};
    for (const auto& row : db.query("SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity WHERE "
                                    "backend_type = 'client backend' GROUP BY 1")
                               .rows) {
      std::string state = row[0].value_or("unknown");
      for (auto& c : state)
        if (c == ' ') c = '_';
      if (state.starts_with("idle_in_transaction")) state = "idle_in_transaction";
      if (!by_state.count(state)) state = "other";
      by_state[state] += number(row[1]);
    }
    for (const auto& [state, count] : by_state)
      add_gauge(connections, {{"target", m_target.name}, {"state", state}}, count);
    families.push_back(connections);

    auto sizes = make_family("database_size_bytes", "Bytes on disk of each database.", MetricType::Gauge);
    for (const auto& row : db.query("SELECT datname, pg_database_size(datname) FROM pg_database WHERE datallowconn "
                                    "AND NOT datistemplate")
                               .rows)
      add_gauge(sizes, {{"target", m_target.name}, {"database", row[0].value_or("")}}, number(row[1]));
    families.push_back(sizes);

    // Tables and indexes are per database: each of the target's databases is visited.
    auto table_sizes = make_family("table_size_bytes", "Data and index bytes of the largest tables of each database.",
                                   MetricType::Gauge);
    auto table_rows =
        make_family("table_rows_estimate", "Estimated rows of the largest tables of each database.", MetricType::Gauge);
    auto unused =
        make_family("unused_indexes", "Indexes never scanned since the statistics were reset (unique ones excluded).",
                    MetricType::Gauge);
    auto unused_size = make_family("unused_index_size_bytes", "Bytes of the indexes never scanned.", MetricType::Gauge);
    auto index_ratio =
        make_family("index_scan_ratio", "Share of table scans that used an index (0 to 1).", MetricType::Gauge);
    std::vector<std::string> databases = m_target.databases;
    if (databases.empty()) databases.push_back(options.database);
    for (const auto& database : databases) {
      auto per_database = options;
      per_database.database = database;
      std::optional<PostgresConnection> other;
      PostgresConnection* connection = &db;
      if (database != options.database) {
        try {
          connection = &other.emplace(PostgresConnection::connect(per_database));
        } catch (const Error& e) {
          spdlog::debug("target '{}': no table statistics of database '{}': {}", m_target.name, database, e.what());
          continue;
        }
      }
      std::vector<prometheus::ClientMetric::Label> in{{"target", m_target.name}, {"database", database}};
      if (m_target.queries.top_tables > 0)
        for (const auto& row :
             connection
                 ->query("SELECT n.nspname || '.' || c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid), "
                         "greatest(c.reltuples, 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', "
                         "'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY "
                         "pg_total_relation_size(c.oid) DESC, 1 LIMIT " +
                         std::to_string(m_target.queries.top_tables))
                 .rows) {
          auto table = in;
          table.push_back({"table", row[0].value_or("")});
          auto data = table, index = table;
          data.push_back({"part", "data"});
          index.push_back({"part", "index"});
          add_gauge(table_sizes, data, number(row[1]));
          add_gauge(table_sizes, index, number(row[2]));
          add_gauge(table_rows, table, number(row[3]));
        }
      auto indexes = connection->query(
          "SELECT count(*), coalesce(sum(pg_relation_size(s.indexrelid)), 0) FROM pg_stat_user_indexes s JOIN "
          "pg_index i ON i.indexrelid = s.indexrelid WHERE s.idx_scan = 0 AND NOT i.indisunique");
      add_gauge(unused, in, number(indexes.rows[0][0]));
      add_gauge(unused_size, in, number(indexes.rows[0][1]));
      auto scans =
          connection->query("SELECT coalesce(sum(idx_scan), 0), coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables");
      double index_scans = number(scans.rows[0][0]), all = index_scans + number(scans.rows[0][1]);
      if (all > 0) add_gauge(index_ratio, in, index_scans / all);
    }
    for (auto* family : {&table_sizes, &table_rows, &unused, &unused_size, &index_ratio})
      families.push_back(std::move(*family));

    DatabaseActivity activity;
    auto totals = db.query(
        "SELECT sum(tup_returned), sum(tup_inserted), sum(tup_updated), sum(tup_deleted), sum(deadlocks), "
        "sum(xact_commit), sum(xact_rollback) FROM pg_stat_database");
    if (!totals.empty()) {
      const auto& row = totals.rows[0];
      activity.rows = {{"read", number(row[0])},
                       {"inserted", number(row[1])},
                       {"updated", number(row[2])},
                       {"deleted", number(row[3])}};
      activity.deadlocks = number(row[4]);
      activity.transactions = {{"commit", number(row[5])}, {"rollback", number(row[6])}};
    }
    // The lock types sessions wait on most, always exported; others as they appear.
    activity.sessions_waiting = {{"relation", 0}, {"transactionid", 0}, {"tuple", 0}, {"advisory", 0}};
    for (const auto& row :
         db.query("SELECT locktype, count(DISTINCT pid) FROM pg_locks WHERE NOT granted GROUP BY locktype").rows)
      activity.sessions_waiting[row[0].value_or("unknown")] = number(row[1]);

    auto xid_age = make_family("postgres_oldest_xid_age",
                               "Age in transactions of the oldest unfrozen transaction ID of any database "
                               "(wraparound at about 2 billion).",
                               MetricType::Gauge);
    add_gauge(xid_age, target_label, number(db.query("SELECT max(age(datfrozenxid)) FROM pg_database").scalar()));
    families.push_back(xid_age);

    auto lag = make_family("postgres_replica_lag_seconds", "Time since the last transaction replayed on a standby.",
                           MetricType::Gauge);
    auto replay = db.query(
                        "SELECT CASE WHEN pg_is_in_recovery() THEN coalesce(extract(epoch FROM now() - "
                        "pg_last_xact_replay_timestamp()), 0) END")
                      .scalar();
    if (replay) add_gauge(lag, target_label, number(replay));
    families.push_back(lag);

    auto slow = make_family("slow_queries_total",
                            "Statement calls whose mean time over a refresh interval exceeded queries.slow_threshold "
                            "(from pg_stat_statements deltas).",
                            MetricType::Counter);
    auto statements =
        make_family("statement_mean_seconds",
                    "Mean execution time of the slowest statements (top N by mean), by queryid.", MetricType::Gauge);
    // PostgreSQL 15 keeps no latency histograms: the slowest call and the spread are what exists.
    auto slowest = make_family("statement_max_seconds", "Slowest call of the same statements.", MetricType::Gauge);
    auto spread = make_family("statement_stddev_seconds",
                              "Standard deviation of the execution time of the same "
                              "statements (the largest over the users and databases that ran one).",
                              MetricType::Gauge);
    if (!db.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").empty()) {
      std::map<std::string, StatementSample> current;
      for (const auto& row : db.query("SELECT queryid::text || '/' || userid::text || '/' || dbid::text, calls, "
                                      "total_exec_time FROM pg_stat_statements")
                                 .rows)
        current[row[0].value_or("")] = StatementSample{number(row[1]), number(row[2])};
      if (m_has_baseline) {
        for (const auto& [key, sample] : current) {
          StatementSample previous;
          if (auto it = m_previous.find(key); it != m_previous.end() && it->second.calls <= sample.calls)
            previous = it->second;
          double calls = sample.calls - previous.calls;
          if (calls > 0 && (sample.total_ms - previous.total_ms) / calls > threshold_ms) m_slow_total += calls;
        }
      }
      double calls = 0;
      for (const auto& [key, sample] : current) calls += sample.calls;
      m_previous = std::move(current);
      m_has_baseline = true;
      activity.statements = {{"all", calls}};  // pg_stat_statements cannot tell kinds apart
      for (const auto& row : db.query(postgres_top_statements_sql(m_target.queries.top_n)).rows) {
        std::vector<prometheus::ClientMetric::Label> digest{{"target", m_target.name}, {"digest", row[0].value_or("")}};
        add_gauge(statements, digest, number(row[1]));
        add_gauge(slowest, digest, number(row[5]));
        add_gauge(spread, digest, number(row[6]));
      }
      add_counter(slow, target_label, m_slow_total);
    } else if (!m_said_no_extension) {
      spdlog::info(
          "target '{}': pg_stat_statements is not installed in database '{}'; slow query and statement "
          "metrics are not exported",
          m_target.name, options.database);
      m_said_no_extension = true;
    }
    families.push_back(slow);
    families.push_back(statements);
    families.push_back(slowest);
    families.push_back(spread);
    for (auto& family : activity_families(m_target.name, activity)) families.push_back(std::move(family));

    std::lock_guard lock(m_mutex);
    m_families = std::move(families);
  }

  std::vector<prometheus::MetricFamily> collect() const override {
    std::lock_guard lock(m_mutex);
    return m_families;
  }

 private:
  Target m_target;
  Duration m_timeout;
  std::map<std::string, StatementSample> m_previous;
  bool m_has_baseline = false;
  double m_slow_total = 0;
  bool m_said_no_extension = false;
  mutable std::mutex m_mutex;
  std::vector<prometheus::MetricFamily> m_families;
};

}  // namespace

std::unique_ptr<Collector> make_postgres_collector(const CollectorContext& context) {
  if (context.target->engine != "postgres") return nullptr;
  return std::make_unique<PostgresCollector>(*context.target, context.settings.timeout);
}

}  // namespace dbkeeper
