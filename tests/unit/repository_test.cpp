#include "backup/repository.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

BackupManifest manifest_for(const std::string& id) {
  BackupManifest m;
  m.id = id;
  m.target = "shop";
  m.engine = "mariadb";
  m.started_at = parse_utc("2026-11-25T17:40:00.000Z");
  m.finished_at = parse_utc("2026-11-25T17:40:01.000Z");
  return m;
}

class RepositoryTest : public ::testing::Test {
 protected:
  TempDir m_dir;
  Repository m_repository{m_dir.path()};
  TimePoint m_now = parse_utc("2026-11-25T17:40:00.000Z");
};

TEST_F(RepositoryTest, a_partial_backup_is_never_listed_and_is_removed_on_failure) {
  std::filesystem::path partial_directory;
  {
    auto partial = m_repository.begin_backup("shop", m_now);
    partial_directory = partial.directory();
    EXPECT_TRUE(partial_directory.string().ends_with("shop/backups/20261125T174000Z"));
    // Written, but without its manifest: no backup.
    std::ofstream(partial_directory / "shop.sql.zst") << "data";
    EXPECT_TRUE(std::filesystem::exists(partial_directory / ".attempt"));
    EXPECT_TRUE(m_repository.list("shop").empty());
  }
  EXPECT_FALSE(std::filesystem::exists(partial_directory));
}

TEST_F(RepositoryTest, a_committed_backup_is_listed_oldest_first) {
  for (int i = 0; i < 3; ++i) {
    auto partial = m_repository.begin_backup("shop", m_now);
    partial.commit(manifest_for(partial.id()));
  }
  auto entries = m_repository.list("shop");
  ASSERT_EQ(entries.size(), 3u);
  // Three backups in one second get three increasing ids.
  EXPECT_EQ(entries[0].manifest.id, "20261125T174000Z");
  EXPECT_EQ(entries[1].manifest.id, "20261125T174001Z");
  EXPECT_EQ(entries[2].manifest.id, "20261125T174002Z");
  EXPECT_EQ(m_repository.find("shop", "latest").manifest.id, "20261125T174002Z");
  EXPECT_EQ(m_repository.find("shop", "20261125T174001Z").manifest.id, "20261125T174001Z");
}

TEST_F(RepositoryTest, find_names_what_exists) {
  try {
    m_repository.find("shop", "latest");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "target 'shop' has no complete backup");
  }
  auto partial = m_repository.begin_backup("shop", m_now);
  partial.commit(manifest_for(partial.id()));
  try {
    m_repository.find("shop", "20200101T000000Z");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "target 'shop' has no backup '20200101T000000Z' (newest is '20261125T174000Z')");
  }
}

TEST_F(RepositoryTest, a_damaged_manifest_falls_back_to_its_copy) {
  auto partial = m_repository.begin_backup("shop", m_now);
  auto directory = partial.commit(manifest_for(partial.id()));
  std::ofstream(directory / "manifest.json", std::ios::trunc) << "{\"garbage\": true}";
  auto entries = m_repository.list("shop");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].manifest.id, "20261125T174000Z");
  // With both damaged, the backup is skipped and named.
  std::ofstream(directory / "manifest.copy.json", std::ios::trunc) << "";
  std::vector<std::string> problems;
  EXPECT_TRUE(m_repository.list("shop", &problems).empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("backup '20261125T174000Z' skipped"), std::string::npos) << problems[0];
}

TEST_F(RepositoryTest, leftovers_of_interrupted_runs_are_removed) {
  auto partial = m_repository.begin_backup("shop", m_now);
  auto leftover = partial.directory();
  // A SIGKILLed backup of an older agent: its ".partial" directory stays.
  auto legacy = leftover.parent_path() / "20200101T000000Z.partial";
  std::filesystem::create_directories(legacy);
  std::ofstream(legacy / ".attempt") << "incremental\n";
  EXPECT_EQ(m_repository.remove_partial_backups("shop"), 2u);
  EXPECT_FALSE(std::filesystem::exists(leftover));
  EXPECT_FALSE(std::filesystem::exists(legacy));
  // Both were attempts that never finished: counted as failed.
  auto state = m_repository.read_state("shop");
  EXPECT_EQ(state.backups["full"].failure, 1u);
  EXPECT_EQ(state.backups["incremental"].failure, 1u);
}

TEST_F(RepositoryTest, cleanup_at_start_spares_a_running_backup) {
  auto partial = m_repository.begin_backup("shop", m_now);
  auto legacy = partial.directory().parent_path() / "20200101T000000Z.partial";
  std::filesystem::create_directories(legacy);
  std::ofstream(legacy / ".attempt") << "full\n";
  {
    auto lock = m_repository.lock_target("shop", "full");
    EXPECT_EQ(m_repository.clean_up_interrupted("shop"), 0u);
    EXPECT_TRUE(std::filesystem::exists(partial.directory()));
  }
  EXPECT_EQ(m_repository.clean_up_interrupted("shop"), 2u);
  EXPECT_EQ(m_repository.clean_up_interrupted("absent"), 0u);
}

TEST_F(RepositoryTest, deleting_retires_the_backup_first_and_a_cut_deletion_is_finished) {
  for (int i = 0; i < 2; ++i) {
    auto partial = m_repository.begin_backup("shop", m_now);
    partial.commit(manifest_for(partial.id()));
  }
  auto entries = m_repository.list("shop");
  m_repository.delete_backup(entries[0]);
  EXPECT_FALSE(std::filesystem::exists(entries[0].directory));
  ASSERT_EQ(m_repository.list("shop").size(), 1u);
  // A deletion cut short after its marker is never listed and is finished later.
  std::ofstream(entries[1].directory / ".deleting") << "";
  EXPECT_TRUE(m_repository.list("shop").empty());
  EXPECT_EQ(m_repository.remove_partial_backups("shop"), 1u);
  EXPECT_FALSE(std::filesystem::exists(entries[1].directory));
  // So is one an older agent left renamed.
  auto partial = m_repository.begin_backup("shop", m_now);
  auto retired = partial.commit(manifest_for(partial.id()));
  std::filesystem::rename(retired, retired.string() + ".deleting");
  EXPECT_TRUE(m_repository.list("shop").empty());
  EXPECT_EQ(m_repository.remove_partial_backups("shop"), 1u);
  EXPECT_FALSE(std::filesystem::exists(retired.string() + ".deleting"));
}

TEST_F(RepositoryTest, the_target_lock_is_exclusive_and_names_its_holder) {
  auto lock = m_repository.lock_target("shop", "full");
  EXPECT_EQ(m_repository.backup_running("shop"), "full");
  // A second open file description conflicts even inside one process.
  try {
    m_repository.lock_target("shop", "full");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "another backup of target 'shop' is running (pid " + std::to_string(::getpid()) + ")");
  }
}

TEST_F(RepositoryTest, the_lock_is_released_with_its_owner) {
  { auto lock = m_repository.lock_target("shop", "full"); }
  EXPECT_EQ(m_repository.backup_running("shop"), std::nullopt);
  EXPECT_NO_THROW(m_repository.lock_target("shop", "full"));
}

TEST_F(RepositoryTest, state_counts_attempts) {
  m_repository.update_state("shop", [&](TargetState& s) {
    ++s.backups["full"].success;
    s.backups["full"].last_attempt = m_now;
  });
  m_repository.update_state("shop", [](TargetState& s) {
    ++s.backups["full"].failure;
    s.backups["full"].last_failure = "disk full";
  });
  auto state = m_repository.read_state("shop");
  EXPECT_EQ(state.backups["full"].success, 1u);
  EXPECT_EQ(state.backups["full"].failure, 1u);
  EXPECT_EQ(state.backups["full"].last_failure, "disk full");
  EXPECT_EQ(state.backups["full"].last_attempt, m_now);
}

TEST_F(RepositoryTest, verification_is_recorded_beside_the_backup) {
  auto partial = m_repository.begin_backup("shop", m_now);
  partial.commit(manifest_for(partial.id()));
  auto entry = m_repository.find("shop", "latest");
  m_repository.record_verification(
      entry, VerificationRecord{"failed", false, true, m_now, m_now + std::chrono::seconds(3), "table 'x' is missing"});
  auto again = m_repository.find("shop", "latest");
  ASSERT_TRUE(again.verification.has_value());
  EXPECT_FALSE(again.verification->passed);
  EXPECT_TRUE(again.verification->restored);
  EXPECT_DOUBLE_EQ(again.verification->duration_seconds(), 3.0);
  EXPECT_EQ(again.verification->reason, "table 'x' is missing");
}

}  // namespace
}  // namespace dbkeeper

#include "backup/prune_job.h"

namespace dbkeeper {
namespace {

// The full backup's manifest is unreadable: its incrementals look like
// orphans, but nothing proves they are; prune keeps everything and fails.
TEST_F(RepositoryTest, prune_deletes_nothing_while_a_backup_is_unreadable) {
  std::vector<std::filesystem::path> directories;
  std::string full_id;
  for (int i = 0; i < 3; ++i) {
    auto partial = m_repository.begin_backup("shop", m_now + std::chrono::hours(i));
    auto manifest = manifest_for(partial.id());
    if (i == 0) {
      full_id = partial.id();
    } else {
      manifest.type = "incremental";
      manifest.parent = i == 1 ? full_id : directories.back().filename().string();
    }
    directories.push_back(partial.commit(manifest));
  }
  for (const char* name : {"manifest.json", "manifest.copy.json"}) std::ofstream(directories[0] / name) << "{";
  Target target;
  target.name = "shop";
  target.engine = "mariadb";
  target.retention.full_count = 1;
  try {
    prune_target(target, m_repository, m_now + std::chrono::hours(5), false);
    ADD_FAILURE() << "prune went ahead";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    EXPECT_NE(std::string(e.what()).find("prune deletes nothing while a backup of the target is unreadable"),
              std::string::npos)
        << e.what();
  }
  for (const auto& directory : directories) EXPECT_TRUE(std::filesystem::exists(directory)) << directory;
}

}  // namespace
}  // namespace dbkeeper

#include "backup/backup_job.h"

namespace dbkeeper {
namespace {

// A backup refused because another one holds the target's lock attempted
// nothing: it is counted as skipped, and BackupFailing never sees it.
TEST_F(RepositoryTest, a_backup_refused_by_the_lock_is_skipped_not_failed) {
  auto held = m_repository.lock_target("shop", "full");
  Target target;
  target.name = "shop";
  target.engine = "mariadb";
  target.port = 1;  // never reached: the lock comes first
  EXPECT_THROW(run_full_backup(target, m_repository, CompressionSettings{}), TargetBusy);
  auto state = m_repository.read_state("shop");
  EXPECT_EQ(state.backups["full"].skipped, 1u);
  EXPECT_EQ(state.backups["full"].failure, 0u);
  EXPECT_FALSE(state.backups["full"].last_attempt.has_value());
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

// Prune never deletes a backup that a running verification or restore is
// reading: they hold the readers' lock shared, prune needs it alone.
TEST_F(RepositoryTest, prune_waits_for_readers_and_readers_wait_for_prune) {
  for (int i = 0; i < 3; ++i) {
    auto partial = m_repository.begin_backup("shop", m_now + std::chrono::hours(i));
    partial.commit(manifest_for(partial.id()));
  }
  Target target;
  target.name = "shop";
  target.engine = "mariadb";
  target.retention.full_count = 1;
  {
    auto reading = m_repository.lock_readers("shop");
    auto also_reading = m_repository.lock_readers("shop");  // readers share it
    EXPECT_THROW(prune_target(target, m_repository, m_now + std::chrono::hours(5), false), TargetBusy);
    EXPECT_EQ(m_repository.list("shop").size(), 3u);
  }
  {
    auto pruning = m_repository.try_lock_out_readers("shop");
    ASSERT_TRUE(pruning.has_value());
    EXPECT_THROW(m_repository.lock_readers("shop"), TargetBusy);
  }
  prune_target(target, m_repository, m_now + std::chrono::hours(5), false);
  EXPECT_EQ(m_repository.list("shop").size(), 1u);
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

// A killed backup never counted itself; its partial directory, found at the
// next start, counts it as a failed attempt of its type.
TEST_F(RepositoryTest, a_killed_attempt_is_counted_as_a_failure_when_its_leftovers_are_found) {
  auto backups = m_dir.path() / "shop" / "backups";
  std::filesystem::create_directories(backups / "20261125T174000Z.partial");
  std::ofstream(backups / "20261125T174000Z.partial" / ".attempt") << "incremental\n";
  EXPECT_EQ(m_repository.clean_up_interrupted("shop"), 1u);
  auto state = m_repository.read_state("shop");
  EXPECT_EQ(state.backups["incremental"].failure, 1u);
  EXPECT_EQ(state.backups["incremental"].failures_by_reason["process"], 1u);
  EXPECT_NE(state.backups["incremental"].last_failure.find("was killed"), std::string::npos);
  // A committed backup carries no such note.
  auto partial = m_repository.begin_backup("shop", m_now + std::chrono::hours(1), "full");
  auto directory = partial.commit(manifest_for(partial.id()));
  EXPECT_FALSE(std::filesystem::exists(directory / ".attempt"));
  EXPECT_EQ(m_repository.clean_up_interrupted("shop"), 0u);
  EXPECT_EQ(m_repository.read_state("shop").backups["full"].failure, 0u);
}

}  // namespace
}  // namespace dbkeeper

#include <prometheus/text_serializer.h>

#include <sstream>

#include "collectors/backup_collector.h"
#include "tests/support/agent_process.h"

namespace dbkeeper {
namespace {

// A repository that cannot be written at all (its disk gone): the failed
// attempt is still counted, in memory, and exported, so BackupFailing fires.
TEST(unrecorded_attempts, a_repository_that_cannot_be_written_still_gets_its_failures_exported) {
  TempDir dir;
  std::ofstream(dir.path() / "not-a-directory") << "x";
  auto root = dir.path() / "not-a-directory" / "repository";
  Repository repository(root);
  Target target;
  target.name = "lost_disk";
  target.engine = "mariadb";
  EXPECT_THROW(run_full_backup(target, repository, CompressionSettings{}), Error);
  EXPECT_EQ(unrecorded_attempts("lost_disk").backups["full"].failure, 1u);
  EXPECT_EQ(unrecorded_attempts("lost_disk").backups["full"].failures_by_reason["io"], 1u);

  CollectorContext context{&target, std::make_shared<const Repository>(root), nullptr, CollectorSettings{}, {}};
  auto collector = make_backup_collector(context);
  collector->refresh();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector->collect());
  EXPECT_EQ(testing::sample_value(out.str(),
                                  R"(dbkeeper_backup_runs_total{target="lost_disk",type="full",result="failure"})"),
            1)
      << out.str();
  EXPECT_EQ(
      testing::sample_value(out.str(), R"(dbkeeper_backup_failures_total{target="lost_disk",type="full",reason="io"})"),
      1);
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

TEST(backup_collector, exports_the_period_each_scheduled_backup_type_is_judged_by) {
  TempDir dir;
  Target target;
  target.name = "weekly";
  target.engine = "mariadb";
  target.schedule.full = "0 4 * * 0";
  target.schedule.incremental = "0 * * * *";
  CollectorContext context{&target, std::make_shared<const Repository>(dir.path()), nullptr, CollectorSettings{}, {}};
  auto collector = make_backup_collector(context);
  collector->refresh();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector->collect());
  EXPECT_EQ(
      testing::sample_value(out.str(), R"(dbkeeper_backup_schedule_interval_seconds{target="weekly",type="full"})"),
      7 * 86400)
      << out.str();
  EXPECT_EQ(testing::sample_value(out.str(),
                                  R"(dbkeeper_backup_schedule_interval_seconds{target="weekly",type="incremental"})"),
            3600);
  // Verifications are not backups: no period for them.
  EXPECT_EQ(out.str().find("type=\"verify\""), std::string::npos);
}

}  // namespace
}  // namespace dbkeeper

#include "backup/repository_fetch.h"

namespace dbkeeper {
namespace {

TEST(prune_copies, a_copy_deletion_cut_short_is_never_listed_and_is_finished_by_the_next_prune) {
  TempDir dir;
  Repository local(dir.path() / "local");
  StorageSettings settings;
  settings.driver = "posix";
  settings.path = dir.path() / "copies";
  auto copies = open_storage(settings);
  for (const char* id : {"20261125T174000Z", "20261125T174100Z"}) {
    write_object(*copies, std::string("shop/backups/") + id + "/shop.sql.zst", "data");
    auto manifest = manifest_for(id);
    manifest.target = "shop";
    write_object(*copies, std::string("shop/backups/") + id + "/manifest.copy.json", manifest_to_json(manifest));
    write_object(*copies, std::string("shop/backups/") + id + "/manifest.json", manifest_to_json(manifest));
  }
  // Cut short right after its manifest went: the copy of the manifest must not bring it back.
  write_object(*copies, "shop/backups/20261125T174000Z/.deleting", "");
  copies->remove({"shop/backups/20261125T174000Z/manifest.json"});
  auto listed = list_copied_backups(*copies, "shop");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].manifest.id, "20261125T174100Z");
  prune_copies(*copies, "shop", RetentionPolicy{}, parse_utc("2026-11-26T00:00:00.000Z"), false);
  EXPECT_TRUE(copies->list("shop/backups/20261125T174000Z/").empty()) << "the cut deletion was not finished";
  EXPECT_EQ(list_copied_backups(*copies, "shop").size(), 1u);
}

}  // namespace
}  // namespace dbkeeper
