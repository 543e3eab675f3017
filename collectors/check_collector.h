#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// dbkeeper_check_success{target,check}: the checks of `dbkeeper check`
// (backup/readiness_check.h), run at start and then on the collector's
// interval. A failed check is logged with its reason and fix once, when it
// starts failing.
std::unique_ptr<Collector> make_check_collector(const CollectorContext& context);

}  // namespace dbkeeper
