// Database names are data, never syntax: names with quotes, backticks, '=',
// spaces, unicode and a leading dash are backed up and restored as
// themselves by every tool dbkeeper starts, and never reach another database.

#include <gtest/gtest.h>

#include "backup/backup_job.h"
#include "backup/restore_job.h"
#include "backup/verify_job.h"
#include "core/temp_dir.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace testing;

const std::vector<std::string> k_names{"dbname=postgres", "-leading dash", "it's `quoted` \"twice\"", "Ünïcödé 数据"};

TEST(DatabaseNames, mariadb_backs_up_and_restores_names_as_names) {
  TempDir dir;
  Repository repository(dir.path());
  auto admin = servers().mariadb.admin();
  for (std::size_t i = 0; i < k_names.size(); ++i) {
    const auto& name = k_names[i];
    auto q = MysqlConnection::quote_identifier(name);
    admin.execute("DROP DATABASE IF EXISTS " + q);
    admin.execute("CREATE DATABASE " + q + " CHARACTER SET utf8mb4");
    admin.execute("CREATE TABLE " + q + ".t (id INT PRIMARY KEY, v VARCHAR(100))");
    admin.execute("INSERT INTO " + q + ".t VALUES (1, " + admin.quote_string(name) + ")");
    Target target = mariadb_target({name});
    target.name = "names" + std::to_string(i);
    run_full_backup(target, repository, CompressionSettings{});
    auto verification = verify_backup(target, repository, "latest", true);
    EXPECT_TRUE(verification.passed) << name << ": " << verification.reason;
    std::string copy = name + " copy=1";
    admin.execute("DROP DATABASE IF EXISTS " + MysqlConnection::quote_identifier(copy));
    restore_backup(target, repository, RestoreRequest{"latest", copy, "", false});
    EXPECT_EQ(admin.query("SELECT v FROM " + MysqlConnection::quote_identifier(copy) + ".t").scalar(), name);
    admin.execute("DROP DATABASE " + MysqlConnection::quote_identifier(copy));
    admin.execute("DROP DATABASE " + q);
  }
}

TEST(DatabaseNames, postgres_backs_up_and_restores_names_as_names) {
  TempDir dir;
  Repository repository(dir.path());
  auto admin = servers().postgres.admin();
  // The database named like a connection string must never be confused with `postgres`.
  admin.execute("CREATE TABLE IF NOT EXISTS public.names_canary (id int)");
  for (std::size_t i = 0; i < k_names.size(); ++i) {
    const auto& name = k_names[i];
    auto q = PostgresConnection::quote_identifier(name);
    admin.execute("DROP DATABASE IF EXISTS " + q + " WITH (FORCE)");
    admin.execute("CREATE DATABASE " + q + " OWNER " + k_test_user);
    {
      auto db = servers().postgres.admin(name);
      db.execute(std::string("SET ROLE ") + k_test_user);
      db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
      std::string literal = "'";
      for (char c : name) literal += c == '\'' ? std::string("''") : std::string(1, c);
      db.execute("INSERT INTO t VALUES (1, " + literal + "')");
    }
    Target target = postgres_target({name});
    target.name = "names" + std::to_string(i);
    auto report = run_full_backup(target, repository, CompressionSettings{});
    ASSERT_EQ(report.manifest.tables.at(name).size(), 1u) << name;
    EXPECT_EQ(report.manifest.tables.at(name)[0].name, "public.t") << name;
    auto verification = verify_backup(target, repository, "latest", true);
    EXPECT_TRUE(verification.passed) << name << ": " << verification.reason;
    std::string copy = name + " copy=1";
    admin.execute("DROP DATABASE IF EXISTS " + PostgresConnection::quote_identifier(copy) + " WITH (FORCE)");
    restore_backup(target, repository, RestoreRequest{"latest", copy, "", false});
    EXPECT_EQ(servers().postgres.admin(copy).query("SELECT v FROM t").scalar(), name);
    admin.execute("DROP DATABASE " + PostgresConnection::quote_identifier(copy) + " WITH (FORCE)");
    admin.execute("DROP DATABASE " + q + " WITH (FORCE)");
  }
  // Nothing was restored into `postgres` itself.
  EXPECT_TRUE(admin.query("SELECT 1 FROM pg_tables WHERE tablename = 't' AND schemaname = 'public'").empty());
  admin.execute("DROP TABLE public.names_canary");
}

}  // namespace
}  // namespace dbkeeper
