#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// storage_* per repository: the requests this agent made to its object
// stores, retries, failed attempts by reason, and bytes uploaded.
std::unique_ptr<Collector> make_storage_collector(const CollectorContext& context);

}  // namespace dbkeeper
