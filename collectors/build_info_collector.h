#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// dbkeeper_build_info{version,revision} 1: lets dashboards show what runs where.
std::unique_ptr<Collector> make_build_info_collector(const CollectorContext& context);

}  // namespace dbkeeper
