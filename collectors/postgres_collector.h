#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// PostgreSQL health and query metrics of a target (nullptr for other
// engines). Slow statements come from pg_stat_statements as deltas between
// refreshes: per statement (queryid, user, database), the calls made since
// the previous refresh count as slow when their mean execution time over
// that interval exceeds queries.slow_threshold. The first refresh only takes
// the baseline. Without pg_stat_statements the collector says so once and
// exports the rest.
std::unique_ptr<Collector> make_postgres_collector(const CollectorContext& context);

}  // namespace dbkeeper
