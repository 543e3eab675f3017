#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// The backup_*, repository_*, recovery_window_* and verify_* metrics of a
// target, computed from the repository (manifests, verification records and
// the attempt counters in state.json), so a restarted agent reports the
// right values at once and backups taken by the CLI count too.
std::unique_ptr<Collector> make_backup_collector(const CollectorContext& context);

}  // namespace dbkeeper
