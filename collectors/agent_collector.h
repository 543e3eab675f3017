#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// dbkeeper_config_last_reload_success and
// dbkeeper_config_last_reload_timestamp_seconds, from the daemon's AgentStatus.
std::unique_ptr<Collector> make_agent_collector(const CollectorContext& context);

}  // namespace dbkeeper
