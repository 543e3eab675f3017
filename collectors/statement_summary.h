#pragma once
// The slowest statements of a target with their text, for `dbkeeper
// queries TARGET`: the metrics carry only the digest, this is where a person
// reads what it stands for.

#include <string>
#include <vector>

#include "backup/target.h"

namespace dbkeeper {

struct StatementSummary {
  std::string digest;  // as in dbkeeper_statement_mean_seconds{digest}
  double mean_seconds = 0;
  double calls = 0;
  std::string text;     // normalised by the server (literals replaced)
  std::string schemas;  // the schemas (MySQL) or databases (PostgreSQL) it ran in, comma-separated
};

// The servers keep one row per digest and schema (MySQL) or per queryid,
// user and database (PostgreSQL); a digest that runs in several of them is
// one series, its mean taken over all its calls. Columns: digest, mean
// seconds, calls, text, schemas. Shared by the collectors and `queries`.
std::string mysql_top_statements_sql(int limit);
std::string postgres_top_statements_sql(int limit);

// Top `limit` by mean latency; throws Error with the server's message, or
// Error{config} when the server keeps no statement statistics.
std::vector<StatementSummary> top_statements(const Target& target, int limit);

}  // namespace dbkeeper
