#include <array>

#include "backup/engine.h"
#include "backup/engines/mysql_engine.h"
#include "backup/engines/postgres_engine.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

// The table of engines. MySQL and MariaDB share a client library and tools
// (mariadb-dump reads both), so one implementation serves both names.
const std::array<EngineDefinition, 3> k_engines{{
    {"mysql", "MySQL through libmysqlclient and mysqldump", 3306, true, "", true, "",
     [] { return make_mysql_engine(false); }},
    {"mariadb", "MariaDB through libmysqlclient and mariadb-dump", 3306, true, "", true, "",
     [] { return make_mysql_engine(true); }},
    // WAL replays onto a physical copy of the cluster; the full backups are
    // logical (pg_dump), so archived WAL could not be applied to them.
    {"postgres", "PostgreSQL through libpq and pg_dump", 5432, false,
     "WAL archiving and point-in-time restore need physical base backups, which dbkeeper does not take yet", false,
     "incremental backups continue from the binary log; PostgreSQL's full backups are logical (pg_dump) and WAL "
     "only applies to physical base backups, which dbkeeper does not take yet",
     [] { return make_postgres_engine(); }},
}};

}  // namespace

std::span<const EngineDefinition> engine_definitions() {
  return k_engines;
}

const EngineDefinition* find_engine(std::string_view name) {
  for (const auto& definition : k_engines)
    if (definition.name == name) return &definition;
  return nullptr;
}

std::unique_ptr<Engine> create_engine(std::string_view name) {
  if (const auto* definition = find_engine(name)) return definition->create();
  std::string known;
  for (const auto& definition : k_engines) known += (known.empty() ? "" : ", ") + std::string(definition.name);
  throw Error(ErrorKind::config, "unknown engine '" + std::string(name) + "' (known: " + known + ")");
}

void require_log_archive(const Target& target) {
  const auto* definition = find_engine(target.engine);
  if (definition && !definition->archives_logs)
    throw Error(ErrorKind::config, "engine '" + target.engine + "' (target '" + target.name +
                                       "'): " + std::string(definition->no_log_archive_reason));
}

void require_incremental_backups(const Target& target) {
  const auto* definition = find_engine(target.engine);
  if (definition && !definition->incremental_backups)
    throw Error(ErrorKind::config, "engine '" + target.engine + "' (target '" + target.name +
                                       "'): " + std::string(definition->no_incremental_reason));
}

}  // namespace dbkeeper
