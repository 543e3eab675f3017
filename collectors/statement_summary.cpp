#include "collectors/statement_summary.h"

#include "backup/engines/mysql_engine.h"
#include "backup/engines/postgres_engine.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

StatementSummary summary(const std::vector<SqlValue>& row) {
  return StatementSummary{row[0].value_or(""), row[1] ? std::stod(*row[1]) : 0, row[2] ? std::stod(*row[2]) : 0,
                          row[3].value_or(""), row[4].value_or("")};
}

}  // namespace

std::string mysql_top_statements_sql(int limit) {
  return "SELECT DIGEST, SUM(SUM_TIMER_WAIT) / GREATEST(SUM(COUNT_STAR), 1) / 1e12 AS mean_seconds, SUM(COUNT_STAR), "
         "MIN(DIGEST_TEXT), GROUP_CONCAT(DISTINCT COALESCE(SCHEMA_NAME, '(none)') ORDER BY SCHEMA_NAME), "
         "MAX(MAX_TIMER_WAIT) / 1e12, NULL FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST IS "
         "NOT NULL "
         "GROUP BY DIGEST ORDER BY mean_seconds DESC LIMIT " +
         std::to_string(limit);
}

std::string postgres_top_statements_sql(int limit) {
  return "SELECT s.queryid::text, sum(s.total_exec_time) / greatest(sum(s.calls), 1) / 1000 AS mean_seconds, "
         "sum(s.calls), min(s.query), string_agg(DISTINCT d.datname, ','), max(s.max_exec_time) / 1000, "
         "max(s.stddev_exec_time) / 1000 FROM pg_stat_statements s "
         "LEFT JOIN pg_database d ON d.oid = s.dbid WHERE s.queryid IS NOT NULL GROUP BY s.queryid "
         "ORDER BY mean_seconds DESC LIMIT " +
         std::to_string(limit);
}

std::vector<StatementSummary> top_statements(const Target& target, int limit) {
  std::vector<StatementSummary> result;
  if (target.engine == "postgres") {
    auto db = PostgresConnection::connect(postgres_connect_options(target));
    if (db.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").empty())
      throw Error(ErrorKind::config, "pg_stat_statements is not installed in database '" +
                                         postgres_connect_options(target).database + "' of target '" + target.name +
                                         "'");
    for (const auto& row : db.query(postgres_top_statements_sql(limit)).rows) result.push_back(summary(row));
    return result;
  }
  auto db = MysqlConnection::connect(mysql_connect_options(target));
  if (db.query("SELECT @@performance_schema").scalar().value_or("0") != "1")
    throw Error(ErrorKind::config, "performance_schema is off on target '" + target.name +
                                       "' (set performance_schema = ON in the server's configuration)");
  for (const auto& row : db.query(mysql_top_statements_sql(limit)).rows) result.push_back(summary(row));
  return result;
}

}  // namespace dbkeeper
