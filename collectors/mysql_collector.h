#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// MySQL/MariaDB health and query metrics of a target (nullptr for other
// engines): the server's Slow_queries, statements running longer than
// queries.slow_threshold, the top-N statement digests by mean latency from
// performance_schema, database sizes, connections by state, the InnoDB
// buffer pool hit ratio and, on a replica, its lag.
std::unique_ptr<Collector> make_mysql_collector(const CollectorContext& context);

}  // namespace dbkeeper
