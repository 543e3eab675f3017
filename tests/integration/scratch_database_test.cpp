// Verification restores own exactly the scratch databases they record:
// cleanup after a killed run drops those, never a user database that shares
// the prefix, nor another target's.

#include <gtest/gtest.h>

#include <fstream>

#include "backup/backup_job.h"
#include "backup/engine.h"
#include "backup/verify_job.h"
#include "core/temp_dir.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace testing;

TEST(ScratchDatabase, cleanup_drops_only_what_a_dead_run_of_the_same_target_recorded) {
  TempDir dir;
  Repository repository(dir.path());
  create_mariadb_fixture("scratch_source");
  Target target = mariadb_target({"scratch_source"});
  Target other = target;
  other.name = "other";
  run_full_backup(target, repository, CompressionSettings{});

  auto admin = servers().mariadb.admin();
  // A user's database with the prefix, a leftover that another target's
  // (killed) run recorded, and one this target's killed run recorded.
  for (const char* name :
       {"dbkeeper_verify_customer_data", "dbkeeper_verify_other_0001", "dbkeeper_verify_dead_0002"}) {
    admin.execute(std::string("DROP DATABASE IF EXISTS ") + name);
    admin.execute(std::string("CREATE DATABASE ") + name);
  }
  std::filesystem::create_directories(repository.target_directory(other.name) / "scratch");
  std::ofstream(repository.target_directory(other.name) / "scratch" / "dbkeeper_verify_other_0001") << "x\n";
  std::filesystem::create_directories(repository.target_directory(target.name) / "scratch");
  std::ofstream(repository.target_directory(target.name) / "scratch" / "dbkeeper_verify_dead_0002") << "x\n";

  auto report = verify_backup(target, repository, "latest", true);
  EXPECT_TRUE(report.passed) << report.reason;
  auto engine = create_engine("mariadb");
  EXPECT_TRUE(engine->database_exists(target, "dbkeeper_verify_customer_data"));
  EXPECT_TRUE(engine->database_exists(target, "dbkeeper_verify_other_0001"));
  EXPECT_FALSE(engine->database_exists(target, "dbkeeper_verify_dead_0002"));
  EXPECT_TRUE(std::filesystem::is_empty(repository.target_directory(target.name) / "scratch"));
  for (const char* name : {"dbkeeper_verify_customer_data", "dbkeeper_verify_other_0001"})
    admin.execute(std::string("DROP DATABASE ") + name);
}

}  // namespace
}  // namespace dbkeeper
