#include <algorithm>
#include <array>

#include "collectors/agent_collector.h"
#include "collectors/backup_collector.h"
#include "collectors/build_info_collector.h"
#include "collectors/check_collector.h"
#include "collectors/collector.h"
#include "collectors/copy_collector.h"
#include "collectors/migrations_collector.h"
#include "collectors/mysql_collector.h"
#include "collectors/postgres_collector.h"
#include "collectors/process_collector.h"
#include "collectors/storage_collector.h"
#include "collectors/up_collector.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;

// Every collector, in one table: name (also its config key under
// [collectors.<name>]), scope, default on/off, default refresh interval.
const std::array<CollectorDefinition, 11> k_collectors{{
    {"agent", "the agent's own state: configuration reloads", CollectorScope::agent, true, 1h, &make_agent_collector},
    {"process", "resident memory, CPU, file descriptors and start time of the agent", CollectorScope::agent, true, 15s,
     &make_process_collector},
    {"build_info", "version and revision of this agent", CollectorScope::agent, true, 1h, &make_build_info_collector},
    {"up", "whether each target's database server accepts a connection", CollectorScope::target, true, 15s,
     &make_up_collector},
    {"check", "readiness of each target for what it schedules (the checks of dbkeeper check)", CollectorScope::target,
     true, 1h, &make_check_collector},
    {"mysql", "MySQL/MariaDB slow and long-running queries, digests, sizes, connections, buffer pool, replica lag",
     CollectorScope::target, true, 15s, &make_mysql_collector},
    {"postgres", "PostgreSQL slow and long-running queries, statements, sizes, connections, xid age, replica lag",
     CollectorScope::target, true, 15s, &make_postgres_collector},
    {"migrations", "migration files on disk against each framework's table of applied migrations",
     CollectorScope::target, true, 1min, &make_migrations_collector},
    {"backup", "backups, repository and verification state, read from the repository", CollectorScope::target, true,
     15s, &make_backup_collector},
    {"copies", "how far each target's copies in its other repositories lag, failures and bytes sent",
     CollectorScope::target, true, 1min, &make_copy_collector},
    {"storage", "requests to object stores: retries, errors by reason, bytes uploaded", CollectorScope::agent, true,
     15s, &make_storage_collector},
}};

}  // namespace

std::span<const CollectorDefinition> collector_definitions() {
  return k_collectors;
}

const CollectorDefinition* find_collector(std::string_view name) {
  for (const auto& definition : k_collectors)
    if (definition.name == name) return &definition;
  return nullptr;
}

CollectorSettings default_settings(const CollectorDefinition& definition) {
  CollectorSettings settings;
  settings.enabled = definition.enabled_by_default;
  settings.interval = definition.default_interval;
  settings.timeout = std::min(settings.timeout, definition.default_interval);
  return settings;
}

}  // namespace dbkeeper
