#include "collectors/migration_frameworks.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "core/error.h"

namespace dbkeeper {
namespace {

namespace fs = std::filesystem;

// File names in `directory` matching `pattern`, in order; `group` picks the id.
std::vector<std::string> ids_in(const fs::path& directory, const std::regex& pattern, int group = 1) {
  std::error_code error;
  fs::directory_iterator it(directory, error);
  if (error)
    throw Error(ErrorKind::io, "unable to read migrations directory '" + directory.string() + "': " + error.message());
  std::vector<std::string> ids;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) throw Error(ErrorKind::io, "unable to read '" + directory.string() + "': " + error.message());
    std::smatch match;
    std::string name = it->path().filename().string();
    if (std::regex_match(name, match, pattern)) ids.push_back(match[group]);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::set<std::string> first_column(const QueryResult* rows) {
  std::set<std::string> values;
  if (rows)
    for (const auto& row : rows->rows)
      if (!row.empty() && row[0]) values.insert(*row[0]);
  return values;
}

MigrationCounts compare(const std::vector<std::string>& on_disk, const std::set<std::string>& applied) {
  MigrationCounts counts;
  for (const auto& id : on_disk) (applied.contains(id) ? counts.applied : counts.pending) += 1;
  return counts;
}

// Laravel: 2024_01_15_103000_create_users_table.php, recorded without ".php".
MigrationCounts laravel(const fs::path& directory, const QueryResult* applied) {
  static const std::regex pattern(R"((\d{4}_\d{2}_\d{2}_\d{6}_\w+)\.php)");
  return compare(ids_in(directory, pattern), first_column(applied));
}

// Rails: 20240115103000_create_users.rb, recorded by version.
MigrationCounts rails(const fs::path& directory, const QueryResult* applied) {
  static const std::regex pattern(R"((\d+)_\w+\.rb)");
  return compare(ids_in(directory, pattern), first_column(applied));
}

// Prisma: one directory per migration with migration.sql; applied rows are
// finished and not rolled back (the SQL filters them).
MigrationCounts prisma(const fs::path& directory, const QueryResult* applied) {
  std::vector<std::string> ids;
  std::error_code error;
  fs::directory_iterator it(directory, error);
  if (error)
    throw Error(ErrorKind::io, "unable to read migrations directory '" + directory.string() + "': " + error.message());
  for (; it != fs::directory_iterator(); it.increment(error))
    if (it->is_directory() && fs::exists(it->path() / "migration.sql")) ids.push_back(it->path().filename().string());
  return compare(ids, first_column(applied));
}

// Flyway: V1.2__name.sql (versioned, recorded by version) and R__name.sql
// (repeatable, recorded by description). Only successful rows count.
MigrationCounts flyway(const fs::path& directory, const QueryResult* applied) {
  static const std::regex versioned(R"(V([0-9._]+)__(.+)\.sql)");
  static const std::regex repeatable(R"(R__(.+)\.sql)");
  std::vector<std::string> ids;
  for (auto& v : ids_in(directory, versioned)) {
    std::replace(v.begin(), v.end(), '_', '.');
    ids.push_back("V:" + v);
  }
  for (auto& r : ids_in(directory, repeatable)) {
    std::replace(r.begin(), r.end(), '_', ' ');
    ids.push_back("R:" + r);
  }
  std::set<std::string> done;
  if (applied)
    for (const auto& row : applied->rows) {
      // version, description
      if (row.size() >= 2 && row[0])
        done.insert("V:" + *row[0]);
      else if (row.size() >= 2 && row[1])
        done.insert("R:" + *row[1]);
    }
  return compare(ids, done);
}

// golang-migrate: 3_name.up.sql; one row holds the current version and dirty.
MigrationCounts golang_migrate(const fs::path& directory, const QueryResult* applied) {
  static const std::regex pattern(R"((\d+)_.*\.up\.[a-z]+)");
  auto ids = ids_in(directory, pattern);
  MigrationCounts counts;
  long long current = -1;
  if (applied && !applied->rows.empty() && applied->rows[0][0]) {
    current = std::stoll(*applied->rows[0][0]);
    const auto& dirty = applied->rows[0].size() > 1 ? applied->rows[0][1] : std::nullopt;
    counts.dirty = dirty && (*dirty == "1" || *dirty == "t" || *dirty == "true");
  } else {
    counts.dirty = false;
  }
  for (const auto& id : ids) (std::stoll(id) <= current ? counts.applied : counts.pending) += 1;
  return counts;
}

// Django: <app>/migrations/0001_initial.py under the project directory,
// recorded per app as (app, name).
MigrationCounts django(const fs::path& directory, const QueryResult* applied) {
  static const std::regex pattern(R"((\d{4}_\w+)\.py)");
  std::vector<std::string> ids;
  std::error_code error;
  fs::directory_iterator it(directory, error);
  if (error)
    throw Error(ErrorKind::io, "unable to read migrations directory '" + directory.string() + "': " + error.message());
  for (; it != fs::directory_iterator(); it.increment(error)) {
    fs::path migrations = it->path() / "migrations";
    if (!it->is_directory() || !fs::is_directory(migrations)) continue;
    for (const auto& name : ids_in(migrations, pattern)) ids.push_back(it->path().filename().string() + "." + name);
  }
  std::set<std::string> done;
  if (applied)
    for (const auto& row : applied->rows)
      if (row.size() >= 2 && row[0] && row[1]) done.insert(*row[0] + "." + *row[1]);
  return compare(ids, done);
}

// Alembic: versions/*.py declare `revision` and `down_revision` (a tuple for
// merges). Applied is every ancestor of the versions in alembic_version.
MigrationCounts alembic(const fs::path& directory, const QueryResult* applied) {
  static const std::regex revision(R"(^revision\s*(?::\s*str\s*)?=\s*['"]([^'"]+)['"])");
  static const std::regex down(R"(^down_revision\s*(?::[^=]*)?=\s*(.*)$)");
  static const std::regex quoted(R"(['"]([^'"]+)['"])");
  fs::path versions = fs::is_directory(directory / "versions") ? directory / "versions" : directory;
  std::error_code error;
  fs::directory_iterator it(versions, error);
  if (error)
    throw Error(ErrorKind::io, "unable to read migrations directory '" + versions.string() + "': " + error.message());
  std::map<std::string, std::vector<std::string>> parents;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (it->path().extension() != ".py") continue;
    std::ifstream file(it->path());
    std::string line, id;
    std::vector<std::string> down_ids;
    while (std::getline(file, line)) {
      std::smatch match;
      if (std::regex_search(line, match, revision)) id = match[1];
      if (std::regex_search(line, match, down)) {
        std::string rest = match[1];
        for (std::sregex_iterator q(rest.begin(), rest.end(), quoted); q != std::sregex_iterator(); ++q)
          down_ids.push_back((*q)[1]);
      }
    }
    if (!id.empty()) parents[id] = down_ids;
  }
  std::set<std::string> done;
  std::vector<std::string> stack;
  for (const auto& current : first_column(applied)) stack.push_back(current);
  while (!stack.empty()) {
    std::string id = stack.back();
    stack.pop_back();
    if (!done.insert(id).second) continue;
    if (auto p = parents.find(id); p != parents.end())
      for (const auto& parent : p->second) stack.push_back(parent);
  }
  MigrationCounts counts;
  for (const auto& [id, unused] : parents) (done.contains(id) ? counts.applied : counts.pending) += 1;
  return counts;
}

const std::array<MigrationFramework, 7> k_frameworks{{
    {"laravel", "migrations", "SELECT migration FROM migrations", &laravel},
    {"prisma", "_prisma_migrations",
     "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL", &prisma},
    {"flyway", "flyway_schema_history",
     "SELECT version, description FROM flyway_schema_history WHERE success AND type <> 'BASELINE' "
     "AND type <> 'SCHEMA' AND type <> 'DELETE'",
     &flyway},
    {"golang-migrate", "schema_migrations", "SELECT version, dirty FROM schema_migrations", &golang_migrate},
    {"rails", "schema_migrations", "SELECT version FROM schema_migrations", &rails},
    {"django", "django_migrations", "SELECT app, name FROM django_migrations", &django},
    {"alembic", "alembic_version", "SELECT version_num FROM alembic_version", &alembic},
}};

}  // namespace

const MigrationFramework* find_migration_framework(std::string_view name) {
  for (const auto& framework : k_frameworks)
    if (framework.name == name) return &framework;
  return nullptr;
}

}  // namespace dbkeeper
