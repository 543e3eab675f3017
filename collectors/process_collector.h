#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// The standard process_* metrics of the agent itself (resident and virtual
// memory, CPU seconds, open and maximum file descriptors, start time), read
// from /proc/self as every Prometheus client library does.
std::unique_ptr<Collector> make_process_collector(const CollectorContext& context);

}  // namespace dbkeeper
