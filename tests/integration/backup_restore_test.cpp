// Full backups against the real servers: round trip to a new database name
// proven by tables, row counts and content; verification by checksum and by
// restore; refusal to overwrite; the server's own errors.

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "backup/backup_job.h"
#include "backup/restore_job.h"
#include "backup/verify_job.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace testing;

struct EngineCase {
  std::string name;
  Target (*target)(const std::vector<std::string>&);
  void (*create_fixture)(const std::string&);
  std::map<std::string, std::string> (*content)(const std::string&);
  std::vector<std::string> (*objects)(const std::string&);
  std::string missing_database_error;
  std::string missing_database_reason;  // MariaDB: the dump tool says so; PostgreSQL: our own connection
};

void PrintTo(const EngineCase& engine, std::ostream* out) {
  *out << engine.name;
}

class BackupRestoreTest : public ::testing::TestWithParam<EngineCase> {
 protected:
  TempDir m_dir;
  Repository m_repository{m_dir.path()};
};

TEST_P(BackupRestoreTest, restores_under_a_new_name_equal_to_the_source) {
  const auto& engine = GetParam();
  engine.create_fixture("fixture");
  Target target = engine.target({"fixture"});
  auto report = run_full_backup(target, m_repository, CompressionSettings{});

  const auto& manifest = report.manifest;
  EXPECT_EQ(manifest.databases, std::vector<std::string>{"fixture"});
  EXPECT_FALSE(manifest.server_version.empty());
  EXPECT_FALSE(manifest.tool_version.empty());
  EXPECT_FALSE(manifest.log_position.empty());
  ASSERT_FALSE(manifest.artifacts.empty());
  for (const auto& artifact : manifest.artifacts) {
    EXPECT_EQ(artifact.sha256.size(), 64u);
    EXPECT_EQ(artifact.stored_bytes, std::filesystem::file_size(report.directory / artifact.name));
  }
  // Row counts in the manifest match the source.
  std::map<std::string, std::uint64_t> rows;
  for (const auto& table : manifest.tables.at("fixture")) rows[table.name] = table.rows;
  std::string order = engine.name == "mariadb" ? "order" : "public.order";
  std::string audit = engine.name == "mariadb" ? "audit" : "public.audit";
  std::string empty = engine.name == "mariadb" ? "empty_table" : "public.empty_table";
  EXPECT_EQ(rows[order], 4u);
  EXPECT_EQ(rows[audit], 4u);  // written by the trigger
  EXPECT_EQ(rows[empty], 0u);

  auto restored = restore_backup(target, m_repository, RestoreRequest{"latest", "fixture_copy", "", false});
  EXPECT_EQ(restored.tables, 5u);
  EXPECT_EQ(restored.rows, 4u + 4u + 4u + 2u);

  auto source = engine.content("fixture");
  auto copy = engine.content("fixture_copy");
  EXPECT_EQ(source.size(), 5u);
  EXPECT_EQ(copy, source);
  EXPECT_EQ(engine.objects("fixture_copy"), engine.objects("fixture"));
  EXPECT_GE(engine.objects("fixture").size(), 3u);  // view, trigger, routines
}

TEST_P(BackupRestoreTest, verify_passes_by_checksum_and_by_restore_and_leaves_no_scratch_database) {
  const auto& engine = GetParam();
  engine.create_fixture("fixture");
  Target target = engine.target({"fixture"});
  run_full_backup(target, m_repository, CompressionSettings{});

  auto checksums = verify_backup(target, m_repository, "latest", false);
  EXPECT_TRUE(checksums.passed) << checksums.reason;
  auto restore = verify_backup(target, m_repository, "latest", true);
  EXPECT_TRUE(restore.passed) << restore.reason;
  EXPECT_TRUE(create_engine(target.engine)->databases_with_prefix(target, "dbkeeper_verify_").empty());

  auto entry = m_repository.find(target.name, "latest");
  ASSERT_TRUE(entry.verification.has_value());
  EXPECT_TRUE(entry.verification->passed);
  EXPECT_TRUE(entry.verification->restored);
  EXPECT_EQ(m_repository.read_state(target.name).verifications.success, 2u);
}

TEST_P(BackupRestoreTest, verify_restore_fails_when_the_manifest_disagrees) {
  const auto& engine = GetParam();
  engine.create_fixture("fixture");
  Target target = engine.target({"fixture"});
  auto report = run_full_backup(target, m_repository, CompressionSettings{});
  // Rewrite the manifest (with a valid checksum) claiming one more row.
  auto manifest = report.manifest;
  manifest.tables["fixture"][0].rows += 1;
  std::ofstream(report.directory / "manifest.json", std::ios::trunc) << manifest_to_json(manifest);
  auto result = verify_backup(target, m_repository, "latest", true);
  EXPECT_FALSE(result.passed);
  EXPECT_NE(result.reason.find("the manifest says"), std::string::npos) << result.reason;
  EXPECT_TRUE(create_engine(target.engine)->databases_with_prefix(target, "dbkeeper_verify_").empty());
}

TEST_P(BackupRestoreTest, a_flipped_byte_fails_verify_naming_the_artifact) {
  const auto& engine = GetParam();
  engine.create_fixture("fixture");
  Target target = engine.target({"fixture"});
  auto report = run_full_backup(target, m_repository, CompressionSettings{});
  const auto& artifact = report.manifest.artifacts.front();
  auto path = report.directory / artifact.name;
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(artifact.stored_bytes / 2));
    char c;
    file.get(c);
    file.seekp(static_cast<std::streamoff>(artifact.stored_bytes / 2));
    file.put(static_cast<char>(c ^ 0x20));
  }
  auto result = verify_backup(target, m_repository, "latest", false);
  EXPECT_FALSE(result.passed);
  EXPECT_NE(result.reason.find("artifact '" + artifact.name + "'"), std::string::npos) << result.reason;
  EXPECT_EQ(m_repository.read_state(target.name).verifications.failure, 1u);
  // And a restore from it is refused before anything is created.
  EXPECT_THROW(restore_backup(target, m_repository, RestoreRequest{"latest", "never_created", "", false}), Error);
  EXPECT_FALSE(create_engine(target.engine)->database_exists(target, "never_created"));
}

TEST_P(BackupRestoreTest, an_existing_database_is_refused_unless_forced) {
  const auto& engine = GetParam();
  engine.create_fixture("fixture");
  engine.create_fixture("occupied");
  Target target = engine.target({"fixture"});
  run_full_backup(target, m_repository, CompressionSettings{});
  auto before = engine.content("occupied");
  try {
    restore_backup(target, m_repository, RestoreRequest{"latest", "occupied", "", false});
    FAIL() << "replaced an existing database without --force";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("database 'occupied' already exists"), std::string::npos) << e.what();
  }
  EXPECT_EQ(engine.content("occupied"), before);
  auto report = restore_backup(target, m_repository, RestoreRequest{"latest", "occupied", "", true});
  EXPECT_EQ(report.tables, 5u);
  EXPECT_EQ(engine.content("occupied"), engine.content("fixture"));
  // The replaced database is kept, whole.
  ASSERT_FALSE(report.previous_database.empty());
  EXPECT_EQ(engine.content(report.previous_database), before);
}

TEST_P(BackupRestoreTest, a_missing_database_fails_with_the_server_error_and_leaves_nothing) {
  const auto& engine = GetParam();
  Target target = engine.target({"no_such_database"});
  try {
    run_full_backup(target, m_repository, CompressionSettings{});
    FAIL() << "backed up a database that does not exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(engine.missing_database_error), std::string::npos) << e.what();
  }
  EXPECT_TRUE(m_repository.list(target.name).empty());
  auto backups = m_repository.target_directory(target.name) / "backups";
  EXPECT_TRUE(!std::filesystem::exists(backups) || std::filesystem::is_empty(backups)) << "the failed backup left files";
  auto state = m_repository.read_state(target.name);
  EXPECT_EQ(state.backups["full"].failure, 1u);
  EXPECT_NE(state.backups["full"].last_failure.find(engine.missing_database_error), std::string::npos);
  EXPECT_EQ(state.backups["full"].failures_by_reason[engine.missing_database_reason], 1u);
}

TEST_P(BackupRestoreTest, a_wrong_password_fails_without_showing_it) {
  const auto& engine = GetParam();
  Target target = engine.target({"fixture"});
  target.password = Secret("Wr0ng-pa55-for-backup");
  try {
    run_full_backup(target, m_repository, CompressionSettings{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("Wr0ng-pa55-for-backup"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    engines, BackupRestoreTest,
    ::testing::Values(EngineCase{"mariadb", &mariadb_target, &create_mariadb_fixture, &mariadb_content,
                                 &mariadb_objects, "Unknown database 'no_such_database'", "process"},
                      EngineCase{"postgres", &postgres_target, &create_postgres_fixture, &postgres_content,
                                 &postgres_objects, "database \"no_such_database\" does not exist", "connection"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

using namespace testing;

TEST(PostgresParallelBackup, dumps_and_restores_in_directory_format_with_jobs) {
  TempDir dir;
  Repository repository(dir.path());
  create_postgres_fixture("fixture_parallel");
  Target target = postgres_target({"fixture_parallel"});
  target.backup.parallel = 2;
  auto report = run_full_backup(target, repository, CompressionSettings{});
  const auto& artifact = report.manifest.artifacts.front();
  EXPECT_EQ(artifact.format, "pg_directory");
  EXPECT_TRUE(std::filesystem::is_directory(report.directory / artifact.name));
  ASSERT_GE(artifact.files.size(), 2u);  // toc.dat and one file per table with rows
  EXPECT_GT(artifact.raw_bytes, 0u);

  EXPECT_TRUE(verify_backup(target, repository, "latest", true).passed);
  restore_backup(target, repository, RestoreRequest{"latest", "fixture_parallel_copy", "", false});
  EXPECT_EQ(postgres_content("fixture_parallel_copy"), postgres_content("fixture_parallel"));
  EXPECT_EQ(postgres_objects("fixture_parallel_copy"), postgres_objects("fixture_parallel"));

  // One flipped byte in one table file fails verification, naming the file.
  const ArtifactFile* data_file = nullptr;
  for (const auto& file : artifact.files)
    if (file.name != "toc.dat" && file.stored_bytes > 30) data_file = &file;
  ASSERT_NE(data_file, nullptr);
  {
    std::fstream file(report.directory / artifact.name / data_file->name,
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(data_file->stored_bytes / 2));
    char c;
    file.get(c);
    file.seekp(static_cast<std::streamoff>(data_file->stored_bytes / 2));
    file.put(static_cast<char>(c ^ 0x55));
  }
  auto result = verify_backup(target, repository, "latest", false);
  EXPECT_FALSE(result.passed);
  EXPECT_NE(result.reason.find("artifact '" + artifact.name + "' file '" + data_file->name + "'"), std::string::npos)
      << result.reason;
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

using namespace testing;

TEST(prune, keeps_full_count_and_dry_run_deletes_nothing) {
  TempDir dir;
  create_mariadb_fixture("prune_fixture");
  auto password = dir.path() / "password";
  std::ofstream(password) << k_test_password << "\n";
  ::chmod(password.c_str(), 0600);
  auto config = dir.path() / "dbkeeper.toml";
  std::ofstream(config) << "[agent]\nrepository = \"" << (dir.path() / "repository").string() << "\"\n"
                        << "[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nport = " << servers().mariadb.port()
                        << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << password.string()
                        << "\"\ndatabases = [\"prune_fixture\"]\n[target.retention]\nfull_count = 1\n";
  for (int i = 0; i < 3; ++i) {
    auto result = run_dbkeeper({"backup", "shop", "--type", "full", "--config", config.string()});
    ASSERT_EQ(result.status.code, 0) << result.stderr_text;
  }
  Repository repository(dir.path() / "repository");
  auto before = repository.list("shop");
  ASSERT_EQ(before.size(), 3u);

  auto dry = run_dbkeeper({"prune", "--dry-run", "--config", config.string()});
  EXPECT_EQ(dry.status.code, 0) << dry.stderr_text;
  EXPECT_EQ(std::count(dry.stdout_text.begin(), dry.stdout_text.end(), '\n'), 3);
  EXPECT_NE(dry.stdout_text.find(before[0].manifest.id + "   would delete  not among the newest 1 full backups"),
            std::string::npos)
      << dry.stdout_text;
  EXPECT_EQ(repository.list("shop").size(), 3u);

  auto real = run_dbkeeper({"prune", "shop", "--config", config.string()});
  EXPECT_EQ(real.status.code, 0) << real.stderr_text;
  auto after = repository.list("shop");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].manifest.id, before[2].manifest.id);
  EXPECT_FALSE(std::filesystem::exists(before[0].directory));
}

}  // namespace
}  // namespace dbkeeper
