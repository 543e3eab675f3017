#include "collectors/mysql_collector.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <optional>
#include <string_view>

#include "backup/engines/mysql_engine.h"
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

class MysqlCollector final : public Collector {
 public:
  MysqlCollector(const Target& target, Duration timeout) : m_target(target), m_timeout(timeout) {}

  void refresh() override {
    auto options = mysql_connect_options(m_target);
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(m_timeout);
    options.connect_timeout = std::max(std::chrono::seconds(1), std::min(options.connect_timeout, seconds));
    options.read_timeout = std::max(std::chrono::seconds(1), seconds);
    auto db = MysqlConnection::connect(options);
    std::vector<prometheus::ClientMetric::Label> target_label{{"target", m_target.name}};

    std::map<std::string, double> status;
    for (const auto& row : db.query("SHOW GLOBAL STATUS").rows)
      if (row[0] && row[1]) status[*row[0]] = std::strtod(row[1]->c_str(), nullptr);

    auto slow = make_family("slow_queries_total",
                            "Statements slower than the server's long_query_time (the server's Slow_queries).",
                            MetricType::Counter);
    add_counter(slow, target_label, status["Slow_queries"]);

    bool mariadb = db.query("SELECT VERSION()").scalar().value_or("").find("MariaDB") != std::string::npos;
    long long threshold_ms = m_target.queries.slow_threshold.count();
    std::string running_sql =
        mariadb ? "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND NOT IN ('Sleep', 'Daemon', "
                  "'Binlog Dump', 'Slave_IO', 'Slave_SQL') AND ID <> CONNECTION_ID() AND TIME_MS >= " +
                      std::to_string(threshold_ms)
                : "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND NOT IN ('Sleep', 'Daemon', "
                  "'Binlog Dump') AND ID <> CONNECTION_ID() AND TIME * 1000 >= " +
                      std::to_string(threshold_ms);
    auto long_running = make_family(
        "long_running_queries", "Statements running longer than queries.slow_threshold right now.", MetricType::Gauge);
    add_gauge(long_running, target_label, number(db.query(running_sql).scalar()));

    auto connections = make_family("connections", "Client connections by state.", MetricType::Gauge);
    // The state names PostgreSQL uses: a sleeping session with an open
    // InnoDB transaction is idle in transaction (it holds locks and old row versions).
    std::map<std::string, double> by_state{{"active", 0}, {"idle", 0}, {"idle_in_transaction", 0}, {"other", 0}};
    for (const auto& row :
         db.query("SELECT p.COMMAND, t.trx_mysql_thread_id IS NOT NULL, COUNT(*) FROM information_schema.PROCESSLIST "
                  "p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID GROUP BY 1, 2")
             .rows) {
      std::string command = row[0].value_or("");
      bool in_transaction = row[1].value_or("0") == "1";
      std::string state = command == "Sleep" ? (in_transaction ? "idle_in_transaction" : "idle")
                          : (command == "Query" || command == "Execute") ? "active"
                                                                         : "other";
      by_state[state] += number(row[2]);
    }
    for (const auto& [state, count] : by_state)
      add_gauge(connections, {{"target", m_target.name}, {"state", state}}, count);

    auto sizes = make_family("database_size_bytes", "Data and index bytes of each database.", MetricType::Gauge);
    for (const auto& row :
         db.query("SELECT table_schema, SUM(data_length + index_length) FROM information_schema.tables "
                  "WHERE table_schema NOT IN ('information_schema', 'performance_schema', 'mysql', "
                  "'sys') GROUP BY table_schema")
             .rows)
      add_gauge(sizes, {{"target", m_target.name}, {"database", row[0].value_or("")}}, number(row[1]));

    auto table_sizes = make_family("table_size_bytes", "Data and index bytes of the largest tables of each database.",
                                   MetricType::Gauge);
    auto table_rows =
        make_family("table_rows_estimate", "Estimated rows of the largest tables of each database.", MetricType::Gauge);
    if (m_target.queries.top_tables > 0)
      for (const auto& row :
           db.query("SELECT table_schema, table_name, data_length, index_length, table_rows FROM (SELECT table_schema, "
                    "table_name, data_length, index_length, table_rows, ROW_NUMBER() OVER (PARTITION BY table_schema "
                    "ORDER BY data_length + index_length DESC, table_name) AS place FROM information_schema.tables "
                    "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('information_schema', "
                    "'performance_schema', 'mysql', 'sys')) ranked WHERE place <= " +
                    std::to_string(m_target.queries.top_tables))
               .rows) {
        std::vector<prometheus::ClientMetric::Label> table{
            {"target", m_target.name}, {"database", row[0].value_or("")}, {"table", row[1].value_or("")}};
        auto with_part = [&](const char* part) {
          auto labels = table;
          labels.push_back({"part", part});
          return labels;
        };
        add_gauge(table_sizes, with_part("data"), number(row[2]));
        add_gauge(table_sizes, with_part("index"), number(row[3]));
        add_gauge(table_rows, table, number(row[4]));
      }

    auto hit_ratio = make_family("mysql_innodb_buffer_pool_hit_ratio",
                                 "Share of InnoDB page reads served from the buffer pool (0 to 1).", MetricType::Gauge);
    double requests = status["Innodb_buffer_pool_read_requests"];
    add_gauge(hit_ratio, target_label, requests > 0 ? 1.0 - status["Innodb_buffer_pool_reads"] / requests : 1.0);

    std::vector<prometheus::MetricFamily> families{slow,        long_running, connections, sizes,
                                                   table_sizes, table_rows,   hit_ratio};

    DatabaseActivity activity;
    if (status.count("Innodb_rows_read")) {
      // MySQL: InnoDB's own row counters.
      activity.rows = {{"read", status["Innodb_rows_read"]},
                       {"inserted", status["Innodb_rows_inserted"]},
                       {"updated", status["Innodb_rows_updated"]},
                       {"deleted", status["Innodb_rows_deleted"]}};
    } else {
      // MariaDB 10.6+ dropped them: the handler counters of every engine.
      double read = 0;
      for (const char* name : {"Handler_read_first", "Handler_read_key", "Handler_read_last", "Handler_read_next",
                               "Handler_read_prev", "Handler_read_rnd", "Handler_read_rnd_next"})
        read += status[name];
      activity.rows = {{"read", read},
                       {"inserted", status["Handler_write"]},
                       {"updated", status["Handler_update"]},
                       {"deleted", status["Handler_delete"]}};
    }
    double select = status["Com_select"], insert = status["Com_insert"] + status["Com_insert_select"],
           update = status["Com_update"] + status["Com_update_multi"],
           remove = status["Com_delete"] + status["Com_delete_multi"];
    // Questions: the statements clients sent (not those inside stored programs).
    activity.statements = {{"select", select},
                           {"insert", insert},
                           {"update", update},
                           {"delete", remove},
                           {"other", std::max(0.0, status["Questions"] - select - insert - update - remove)}};
    activity.lock_waits = {{"row", status["Innodb_row_lock_waits"]}, {"table", status["Table_locks_waited"]}};
    activity.lock_wait_seconds = status["Innodb_row_lock_time"] / 1000;                     // milliseconds
    if (status.count("Innodb_deadlocks")) activity.deadlocks = status["Innodb_deadlocks"];  // MariaDB
    activity.sessions_waiting = {{"row", status["Innodb_row_lock_current_waits"]}};
    for (auto& family : activity_families(m_target.name, activity)) families.push_back(std::move(family));

    // Digest text never becomes a label: it is unbounded and may hold literals.
    auto statements = make_family("statement_mean_seconds",
                                  "Mean latency of the slowest statement digests (top N by mean), by digest hash.",
                                  MetricType::Gauge);
    // No latency histograms on MariaDB: the slowest call is what exists beside the mean.
    auto slowest =
        make_family("statement_max_seconds", "Slowest call of the same statement digests.", MetricType::Gauge);
    if (db.query("SELECT @@performance_schema").scalar().value_or("0") == "1") {
      for (const auto& row : db.query(mysql_top_statements_sql(m_target.queries.top_n)).rows) {
        std::vector<prometheus::ClientMetric::Label> digest{{"target", m_target.name}, {"digest", row[0].value_or("")}};
        add_gauge(statements, digest, number(row[1]));
        add_gauge(slowest, digest, number(row[5]));
      }
    } else if (!m_said_no_performance_schema) {
      spdlog::info("target '{}': performance_schema is off, so statement digests are not exported", m_target.name);
      m_said_no_performance_schema = true;
    }
    families.push_back(statements);
    families.push_back(slowest);

    auto lag = make_family("mysql_replica_lag_seconds", "Seconds_Behind_Master of a replica.", MetricType::Gauge);
    if (auto replica = replica_status(db); replica && !replica->empty()) {
      for (std::size_t i = 0; i < replica->columns.size(); ++i)
        if (replica->columns[i] == "Seconds_Behind_Master" && replica->rows[0][i])
          add_gauge(lag, target_label, number(replica->rows[0][i]));
    }
    families.push_back(lag);

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
  bool m_said_no_performance_schema = false;
  bool m_said_no_replica_privilege = false;

  // SHOW SLAVE STATUS needs SLAVE MONITOR (MariaDB 10.5.9+) or SUPER, which a
  // backup user rarely has: without it only replica lag is missing.
  std::optional<QueryResult> replica_status(MysqlConnection& db) {
    try {
      return db.query("SHOW SLAVE STATUS");
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::query || std::string_view(e.what()).find("ERROR 1227") == std::string_view::npos)
        throw;
      if (!m_said_no_replica_privilege)
        spdlog::info(
            "target '{}': the user may not run SHOW SLAVE STATUS (grant SLAVE MONITOR), so replica lag "
            "is not exported",
            m_target.name);
      m_said_no_replica_privilege = true;
      return std::nullopt;
    }
  }
  mutable std::mutex m_mutex;
  std::vector<prometheus::MetricFamily> m_families;
};

}  // namespace

std::unique_ptr<Collector> make_mysql_collector(const CollectorContext& context) {
  if (context.target->engine != "mysql" && context.target->engine != "mariadb") return nullptr;
  return std::make_unique<MysqlCollector>(*context.target, context.settings.timeout);
}

}  // namespace dbkeeper
