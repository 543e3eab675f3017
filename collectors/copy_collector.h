#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// repository_copy_* of a target, per repository it copies to: how far the
// copies lag (age of the oldest backup or log segment that is complete
// locally and not yet copied), the last pass that left nothing pending,
// failures and bytes sent. From <target>/copies/<repository>.json and the
// local repository, so copies made by `dbkeeper copy` count too.
std::unique_ptr<Collector> make_copy_collector(const CollectorContext& context);

}  // namespace dbkeeper
