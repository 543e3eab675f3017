// Pending migrations against real tables: one fixture per framework, files
// on disk plus the framework's table in a real database, each with a known
// pending count.

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <fstream>
#include <sstream>

#include "collectors/migrations_collector.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace testing;
namespace fs = std::filesystem;

void touch(const fs::path& path, const std::string& content = "") {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

std::string exposition(const Collector& collector) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector.collect());
  return out.str();
}

void fresh_mariadb(const std::string& name) {
  auto db = servers().mariadb.admin();
  db.execute("DROP DATABASE IF EXISTS " + name);
  db.execute("CREATE DATABASE " + name);
}

PostgresConnection fresh_postgres(const std::string& name) {
  auto admin = servers().postgres.admin();
  admin.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  admin.execute("CREATE DATABASE " + name);
  return servers().postgres.admin(name);
}

TEST(migrations_collector, counts_pending_migrations_of_every_framework) {
  TempDir dir;
  // Laravel on MariaDB: 3 files, 2 applied.
  fresh_mariadb("mig_laravel");
  for (const char* f :
       {"2024_01_01_000000_create_users.php", "2024_02_01_000000_add_email.php", "2024_03_01_000000_add_phone.php"})
    touch(dir.path() / "laravel" / f);
  servers().mariadb.admin().execute(
      "CREATE TABLE mig_laravel.migrations (id INT AUTO_INCREMENT PRIMARY KEY, migration VARCHAR(255), batch INT)");
  servers().mariadb.admin().execute(
      "INSERT INTO mig_laravel.migrations (migration, batch) VALUES "
      "('2024_01_01_000000_create_users', 1), ('2024_02_01_000000_add_email', 2)");
  // Rails on MariaDB: no table yet, so both files are pending.
  fresh_mariadb("mig_rails");
  touch(dir.path() / "rails" / "20240101000000_create_users.rb");
  touch(dir.path() / "rails" / "20240201000000_add_email.rb");

  Target maria = mariadb_target({});
  maria.migrations = {{"mig_laravel", "laravel", (dir.path() / "laravel").string()},
                      {"mig_rails", "rails", (dir.path() / "rails").string()}};
  auto collector = make_migrations_collector(CollectorContext{&maria, {}, nullptr, {}, {}});
  collector->refresh();
  auto text = exposition(*collector);
  EXPECT_EQ(sample_value(text, R"(dbkeeper_migrations_pending{target="shop",database="mig_laravel"})"), 1) << text;
  EXPECT_EQ(sample_value(text, R"(dbkeeper_migrations_applied{target="shop",database="mig_laravel"})"), 2);
  EXPECT_EQ(sample_value(text, R"(dbkeeper_migrations_pending{target="shop",database="mig_rails"})"), 2);

  // Prisma on PostgreSQL: 3 migrations, one rolled back, one unfinished.
  auto prisma = fresh_postgres("mig_prisma");
  for (const char* m : {"20240101_init", "20240201_email", "20240301_phone"})
    touch(dir.path() / "prisma" / m / "migration.sql");
  prisma.execute(
      "CREATE TABLE _prisma_migrations (id text PRIMARY KEY, migration_name text, finished_at timestamptz, "
      "rolled_back_at timestamptz)");
  prisma.execute(
      "INSERT INTO _prisma_migrations VALUES ('1', '20240101_init', now(), NULL), "
      "('2', '20240201_email', now(), now()), ('3', '20240301_phone', NULL, NULL)");
  // Flyway: V1, V2 applied (V2 failed once, then succeeded), V3 failed; one repeatable applied, one not.
  auto flyway = fresh_postgres("mig_flyway");
  for (const char* f : {"V1__init.sql", "V2__email.sql", "V3__phone.sql", "R__views.sql", "R__seed.sql"})
    touch(dir.path() / "flyway" / f);
  flyway.execute(
      "CREATE TABLE flyway_schema_history (installed_rank int, version text, description text, type text, "
      "script text, success boolean)");
  flyway.execute(
      "INSERT INTO flyway_schema_history VALUES (1, '1', 'init', 'SQL', 'V1__init.sql', true), "
      "(2, '2', 'email', 'SQL', 'V2__email.sql', true), (3, '3', 'phone', 'SQL', 'V3__phone.sql', false), "
      "(4, NULL, 'views', 'SQL', 'R__views.sql', true)");
  // golang-migrate: version 2 of 3, dirty.
  auto golang = fresh_postgres("mig_golang");
  for (const char* f : {"1_init", "2_email", "3_phone"}) {
    touch(dir.path() / "golang" / (std::string(f) + ".up.sql"));
    touch(dir.path() / "golang" / (std::string(f) + ".down.sql"));
  }
  golang.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)");
  golang.execute("INSERT INTO schema_migrations VALUES (2, true)");
  // Django: two apps, one migration of shop missing.
  auto django = fresh_postgres("mig_django");
  touch(dir.path() / "django" / "shop" / "migrations" / "0001_initial.py");
  touch(dir.path() / "django" / "shop" / "migrations" / "0002_total.py");
  touch(dir.path() / "django" / "accounts" / "migrations" / "0001_initial.py");
  django.execute("CREATE TABLE django_migrations (id serial PRIMARY KEY, app text, name text, applied timestamptz)");
  django.execute(
      "INSERT INTO django_migrations (app, name, applied) VALUES ('shop', '0001_initial', now()), "
      "('accounts', '0001_initial', now()), ('contenttypes', '0001_initial', now())");
  // Alembic: a branched history, both branches applied, merge and one more pending.
  auto alembic = fresh_postgres("mig_alembic");
  touch(dir.path() / "alembic" / "versions" / "a.py", "revision = 'a1'\ndown_revision = None\n");
  touch(dir.path() / "alembic" / "versions" / "b.py", "revision = 'b1'\ndown_revision = 'a1'\n");
  touch(dir.path() / "alembic" / "versions" / "c.py", "revision = 'c1'\ndown_revision = 'a1'\n");
  touch(dir.path() / "alembic" / "versions" / "d.py", "revision = 'd1'\ndown_revision = ('b1', 'c1')\n");
  touch(dir.path() / "alembic" / "versions" / "e.py", "revision = 'e1'\ndown_revision = 'd1'\n");
  alembic.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)");
  alembic.execute("INSERT INTO alembic_version VALUES ('b1'), ('c1')");

  Target pg = postgres_target({});
  pg.migrations = {{"mig_prisma", "prisma", (dir.path() / "prisma").string()},
                   {"mig_flyway", "flyway", (dir.path() / "flyway").string()},
                   {"mig_golang", "golang-migrate", (dir.path() / "golang").string()},
                   {"mig_django", "django", (dir.path() / "django").string()},
                   {"mig_alembic", "alembic", (dir.path() / "alembic").string()}};
  auto pg_collector = make_migrations_collector(CollectorContext{&pg, {}, nullptr, {}, {}});
  pg_collector->refresh();
  text = exposition(*pg_collector);
  auto pending = [&](const char* database) {
    return sample_value(text,
                        std::string(R"(dbkeeper_migrations_pending{target="billing",database=")") + database + "\"}");
  };
  EXPECT_EQ(pending("mig_prisma"), 2) << text;  // rolled back and unfinished are not applied
  EXPECT_EQ(pending("mig_flyway"), 2) << text;  // V3 (failed) and R__seed
  EXPECT_EQ(pending("mig_golang"), 1) << text;
  EXPECT_EQ(sample_value(text, R"(dbkeeper_migrations_dirty{target="billing",database="mig_golang"})"), 1);
  EXPECT_EQ(pending("mig_django"), 1) << text;
  EXPECT_EQ(pending("mig_alembic"), 2) << text;  // the merge d1 and e1
}

TEST(migrations_collector, an_unreadable_directory_fails_the_refresh) {
  Target maria = mariadb_target({});
  fresh_mariadb("mig_missing");
  maria.migrations = {{"mig_missing", "laravel", "/nonexistent/migrations"}};
  auto collector = make_migrations_collector(CollectorContext{&maria, {}, nullptr, {}, {}});
  try {
    collector->refresh();
    FAIL() << "an unreadable directory read as zero pending";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unable to read migrations directory '/nonexistent/migrations'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dbkeeper
