#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// dbkeeper_up{target}: 1 when the last connection to the target succeeded.
// A failed probe sets it to 0 and then throws, so the collector also reports
// collector_success 0 and the runner logs the server's message.
std::unique_ptr<Collector> make_up_collector(const CollectorContext& context);

}  // namespace dbkeeper
