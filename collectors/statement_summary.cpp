#include "collectors/statement_summary.h"

#include "backup/engines/mysql_engine.h"
#include "backup/engines/postgres_engine.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

StatementSummary summary(const std::vector<SqlValue>& row) {
  return StatementSummary{row[0].value_or(""), row[1] ? std::stod(*row[1]) : 0, row[2] ? std::stod(*row[2]) : 0,
                          row[3].value_or("")};
}

}  // namespace

std::vector<StatementSummary> top_statements(const Target& target, int limit) {
  std::vector<StatementSummary> result;
  std::string n = std::to_string(limit);
  if (target.engine == "postgres") {
    auto db = PostgresConnection::connect(postgres_connect_options(target));
    if (db.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").empty())
      throw Error(ErrorKind::config, "pg_stat_statements is not installed in database '" +
                                         postgres_connect_options(target).database + "' of target '" + target.name +
                                         "'");
    for (const auto& row : db.query("SELECT queryid::text, mean_exec_time / 1000, calls, query FROM pg_stat_statements "
                                    "WHERE queryid IS NOT NULL ORDER BY mean_exec_time DESC LIMIT " +
                                    n)
                               .rows)
      result.push_back(summary(row));
    return result;
  }
  auto db = MysqlConnection::connect(mysql_connect_options(target));
  if (db.query("SELECT @@performance_schema").scalar().value_or("0") != "1")
    throw Error(ErrorKind::config, "performance_schema is off on target '" + target.name +
                                       "' (set performance_schema = ON in the server's configuration)");
  for (const auto& row : db.query("SELECT DIGEST, AVG_TIMER_WAIT / 1e12, COUNT_STAR, DIGEST_TEXT FROM "
                                  "performance_schema.events_statements_summary_by_digest WHERE DIGEST IS NOT NULL "
                                  "ORDER BY AVG_TIMER_WAIT DESC LIMIT " +
                                  n)
                             .rows)
    result.push_back(summary(row));
  return result;
}

}  // namespace dbkeeper
