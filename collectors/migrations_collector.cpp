#include "collectors/migrations_collector.h"

#include <mutex>

#include "backup/engines/mysql_engine.h"
#include "backup/engines/postgres_engine.h"
#include "collectors/metric_family_builder.h"
#include "collectors/migration_frameworks.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

using prometheus::MetricType;

class MigrationsCollector final : public Collector {
 public:
  MigrationsCollector(const Target& target, Duration timeout) : m_target(target), m_timeout(timeout) {}

  void refresh() override {
    auto pending =
        make_family("migrations_pending", "Migration files not yet applied to the database.", MetricType::Gauge);
    auto applied = make_family("migrations_applied", "Migration files applied to the database.", MetricType::Gauge);
    auto dirty =
        make_family("migrations_dirty", "1 when golang-migrate marks the schema dirty (a migration failed half-way).",
                    MetricType::Gauge);
    for (const auto& entry : m_target.migrations) {
      const MigrationFramework* framework = find_migration_framework(entry.framework);
      if (!framework)
        throw Error(ErrorKind::config,
                    "unknown migration framework '" + entry.framework + "' for database '" + entry.database + "'");
      std::optional<QueryResult> rows = applied_rows(entry, *framework);
      MigrationCounts counts = framework->count(entry.path, rows ? &*rows : nullptr);
      std::vector<prometheus::ClientMetric::Label> labels{{"target", m_target.name}, {"database", entry.database}};
      add_gauge(pending, labels, static_cast<double>(counts.pending));
      add_gauge(applied, labels, static_cast<double>(counts.applied));
      if (counts.dirty) add_gauge(dirty, labels, *counts.dirty ? 1 : 0);
    }
    std::lock_guard lock(m_mutex);
    m_families = {pending, applied, dirty};
  }

  std::vector<prometheus::MetricFamily> collect() const override {
    std::lock_guard lock(m_mutex);
    return m_families;
  }

 private:
  // The applied rows, or nullopt when the framework's table does not exist yet.
  std::optional<QueryResult> applied_rows(const TargetMigrations& entry, const MigrationFramework& framework) const {
    auto seconds = std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(m_timeout));
    std::string table(framework.table);
    if (m_target.engine == "postgres") {
      auto options = postgres_connect_options(m_target, entry.database);
      options.statement_timeout = seconds;
      auto db = PostgresConnection::connect(options);
      if (db.query("SELECT to_regclass('" + table + "')").scalar() == std::nullopt) return std::nullopt;
      return db.query(std::string(framework.applied_sql));
    }
    auto options = mysql_connect_options(m_target);
    options.database = entry.database;
    options.read_timeout = seconds;
    auto db = MysqlConnection::connect(options);
    if (db.query("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = " +
                 db.quote_string(table))
            .empty())
      return std::nullopt;
    return db.query(std::string(framework.applied_sql));
  }

  Target m_target;
  Duration m_timeout;
  mutable std::mutex m_mutex;
  std::vector<prometheus::MetricFamily> m_families;
};

}  // namespace

std::unique_ptr<Collector> make_migrations_collector(const CollectorContext& context) {
  if (context.target->migrations.empty()) return nullptr;
  return std::make_unique<MigrationsCollector>(*context.target, context.settings.timeout);
}

}  // namespace dbkeeper
