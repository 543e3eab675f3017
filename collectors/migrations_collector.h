#pragma once
#include <memory>

#include "collectors/collector.h"

namespace dbkeeper {

// For each [[target.migrations]]: migration files on disk against the
// framework's table of applied migrations. Exports migrations_pending,
// migrations_applied and (golang-migrate) migrations_dirty per database. A
// missing table means every file is pending; an unreadable directory is a
// collector error, never a silent zero. nullptr when the target has none.
std::unique_ptr<Collector> make_migrations_collector(const CollectorContext& context);

}  // namespace dbkeeper
