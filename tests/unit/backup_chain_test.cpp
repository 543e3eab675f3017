#include "backup/backup_chain.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;

BackupEntry backup(const std::string& id, int minute, const std::string& type = "full",
                   const std::string& parent = "") {
  BackupEntry entry;
  entry.manifest.id = id;
  entry.manifest.type = type;
  entry.manifest.parent = parent;
  entry.manifest.started_at = parse_utc("2026-11-25T10:00:00.000Z") + std::chrono::minutes(minute);
  entry.manifest.finished_at = entry.manifest.started_at + 30s;
  return entry;
}

std::vector<std::string> ids(const std::vector<BackupEntry>& chain) {
  std::vector<std::string> out;
  for (const auto& entry : chain) out.push_back(entry.manifest.id);
  return out;
}

TEST(backup_chain, walks_back_to_the_full_backup) {
  std::vector<BackupEntry> backups{backup("f1", 0), backup("i1", 10, "incremental", "f1"), backup("f2", 20),
                                   backup("i2", 30, "incremental", "i1"), backup("j1", 40, "incremental", "f2")};
  EXPECT_EQ(ids(backup_chain(backups, backups[3])), (std::vector<std::string>{"f1", "i1", "i2"}));
  EXPECT_EQ(ids(backup_chain(backups, backups[4])), (std::vector<std::string>{"f2", "j1"}));
  EXPECT_EQ(ids(backup_chain(backups, backups[0])), (std::vector<std::string>{"f1"}));
}

TEST(backup_chain, names_a_missing_or_impossible_parent) {
  std::vector<BackupEntry> backups{backup("i1", 10, "incremental", "f1"), backup("i2", 5, "incremental", "i3"),
                                   backup("i3", 20, "incremental", "i2")};
  try {
    backup_chain(backups, backups[0]);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    EXPECT_NE(std::string(e.what()).find("continues from backup 'f1', which is not in the repository"),
              std::string::npos)
        << e.what();
  }
  // A cycle in hand-edited manifests is named as one.
  try {
    backup_chain(backups, backups[2]);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("continues from it"), std::string::npos) << e.what();
  }
}

BackupEntry at(BackupEntry entry, const std::string& file, std::uint64_t position) {
  entry.manifest.log_position.binlog_file = file;
  entry.manifest.log_position.binlog_position = position;
  return entry;
}

TEST(backup_chain, an_incremental_taken_after_the_clock_stepped_back_continues_its_parent) {
  // The clock went back an hour between the full backup and the incremental:
  // the incremental starts "before" its parent, but the binary log says after.
  std::vector<BackupEntry> backups{at(backup("f1", 60), "binlog.000003", 400),
                                   at(backup("i1", 0, "incremental", "f1"), "binlog.000004", 900)};
  EXPECT_EQ(ids(backup_chain(backups, backups[1])), (std::vector<std::string>{"f1", "i1"}));
  EXPECT_EQ(incremental_parent(backups)->manifest.id, "i1");
}

TEST(backup_chain, a_parent_that_ends_after_its_child_is_refused) {
  std::vector<BackupEntry> backups{at(backup("f1", 0), "binlog.000007", 100),
                                   at(backup("i1", 10, "incremental", "f1"), "binlog.000006", 900)};
  try {
    backup_chain(backups, backups[1]);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    EXPECT_NE(std::string(e.what()).find("before its parent 'f1' ends"), std::string::npos) << e.what();
  }
}

TEST(incremental_parent, is_the_newest_backup_with_a_whole_chain) {
  std::vector<BackupEntry> backups{backup("f1", 0), backup("i1", 10, "incremental", "f1")};
  EXPECT_EQ(incremental_parent(backups)->manifest.id, "i1");
  backups.push_back(backup("orphan", 20, "incremental", "deleted"));
  EXPECT_EQ(incremental_parent(backups)->manifest.id, "i1");
  EXPECT_FALSE(incremental_parent({}));
  EXPECT_FALSE(incremental_parent({backup("o", 0, "incremental", "x")}));
}

}  // namespace
}  // namespace dbkeeper
