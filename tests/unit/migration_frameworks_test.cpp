#include "collectors/migration_frameworks.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& path, const std::string& content = "") {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

QueryResult rows(std::vector<std::vector<SqlValue>> values) {
  QueryResult result;
  result.rows = std::move(values);
  return result;
}

MigrationCounts count(const char* framework, const fs::path& directory, const QueryResult* applied) {
  return find_migration_framework(framework)->count(directory, applied);
}

TEST(migration_frameworks, laravel_compares_file_names) {
  TempDir dir;
  touch(dir.path() / "2024_01_01_000000_create_users_table.php");
  touch(dir.path() / "2024_02_01_000000_add_email.php");
  touch(dir.path() / "2024_03_01_000000_add_phone.php");
  touch(dir.path() / "README.md");
  auto applied = rows({{"2024_01_01_000000_create_users_table"}, {"2024_02_01_000000_add_email"}});
  auto counts = count("laravel", dir.path(), &applied);
  EXPECT_EQ(counts.applied, 2u);
  EXPECT_EQ(counts.pending, 1u);
  // No table yet: everything is pending.
  EXPECT_EQ(count("laravel", dir.path(), nullptr).pending, 3u);
}

TEST(migration_frameworks, rails_compares_versions) {
  TempDir dir;
  touch(dir.path() / "20240101000000_create_users.rb");
  touch(dir.path() / "20240201000000_add_email.rb");
  auto applied = rows({{"20240101000000"}});
  auto counts = count("rails", dir.path(), &applied);
  EXPECT_EQ(counts.applied, 1u);
  EXPECT_EQ(counts.pending, 1u);
}

TEST(migration_frameworks, prisma_counts_directories_with_a_migration) {
  TempDir dir;
  touch(dir.path() / "20240101_init" / "migration.sql");
  touch(dir.path() / "20240201_add_email" / "migration.sql");
  touch(dir.path() / "20240301_rolled_back" / "migration.sql");
  touch(dir.path() / "migration_lock.toml");
  // The SQL already dropped the rolled-back and unfinished rows.
  auto applied = rows({{"20240101_init"}, {"20240201_add_email"}});
  auto counts = count("prisma", dir.path(), &applied);
  EXPECT_EQ(counts.applied, 2u);
  EXPECT_EQ(counts.pending, 1u);
}

TEST(migration_frameworks, flyway_tells_versioned_from_repeatable) {
  TempDir dir;
  touch(dir.path() / "V1__init.sql");
  touch(dir.path() / "V1_1__add_email.sql");
  touch(dir.path() / "V2__add_phone.sql");
  touch(dir.path() / "R__refresh_views.sql");
  touch(dir.path() / "R__seed_data.sql");
  auto applied = rows({{"1", "init"}, {"1.1", "add email"}, {std::nullopt, "refresh views"}});
  auto counts = count("flyway", dir.path(), &applied);
  EXPECT_EQ(counts.applied, 3u);
  EXPECT_EQ(counts.pending, 2u);  // V2 and R__seed_data
}

TEST(migration_frameworks, golang_migrate_compares_with_the_version_and_reports_dirty) {
  TempDir dir;
  for (const char* name : {"1_init", "2_users", "3_email", "4_phone"}) {
    touch(dir.path() / (std::string(name) + ".up.sql"));
    touch(dir.path() / (std::string(name) + ".down.sql"));
  }
  auto applied = rows({{"3", "t"}});
  auto counts = count("golang-migrate", dir.path(), &applied);
  EXPECT_EQ(counts.applied, 3u);
  EXPECT_EQ(counts.pending, 1u);
  EXPECT_EQ(counts.dirty, true);
  auto clean = rows({{"4", "f"}});
  EXPECT_EQ(count("golang-migrate", dir.path(), &clean).dirty, false);
  EXPECT_EQ(count("golang-migrate", dir.path(), &clean).pending, 0u);
}

TEST(migration_frameworks, django_counts_per_app) {
  TempDir dir;
  touch(dir.path() / "shop" / "migrations" / "__init__.py");
  touch(dir.path() / "shop" / "migrations" / "0001_initial.py");
  touch(dir.path() / "shop" / "migrations" / "0002_order_total.py");
  touch(dir.path() / "accounts" / "migrations" / "0001_initial.py");
  touch(dir.path() / "static" / "app.js");
  auto applied = rows({{"shop", "0001_initial"}, {"accounts", "0001_initial"}, {"admin", "0001_initial"}});
  auto counts = count("django", dir.path(), &applied);
  EXPECT_EQ(counts.applied, 2u);
  EXPECT_EQ(counts.pending, 1u);
}

TEST(migration_frameworks, alembic_follows_a_branched_graph_to_the_heads) {
  TempDir dir;
  auto versions = dir.path() / "versions";
  touch(versions / "a_base.py", "revision = 'a1'\ndown_revision = None\n");
  touch(versions / "b_left.py", "revision = 'b1'\ndown_revision = 'a1'\n");
  touch(versions / "c_right.py", "revision: str = \"c1\"\ndown_revision: Union[str, None] = 'a1'\n");
  touch(versions / "d_merge.py", "revision = 'd1'\ndown_revision = ('b1', 'c1')\n");
  touch(versions / "e_next.py", "revision = 'e1'\ndown_revision = 'd1'\n");
  // Both branch heads applied, the merge not yet.
  auto heads = rows({{"b1"}, {"c1"}});
  auto counts = count("alembic", dir.path(), &heads);
  EXPECT_EQ(counts.applied, 3u);  // a1, b1, c1
  EXPECT_EQ(counts.pending, 2u);  // d1, e1
  auto top = rows({{"e1"}});
  EXPECT_EQ(count("alembic", dir.path(), &top).pending, 0u);
}

TEST(migration_frameworks, an_unreadable_directory_is_an_error) {
  EXPECT_THROW(count("laravel", "/nonexistent/migrations", nullptr), Error);
  EXPECT_EQ(find_migration_framework("liquibase"), nullptr);
}

}  // namespace
}  // namespace dbkeeper
