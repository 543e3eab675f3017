#include "backup/log_archive.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "backup/repository.h"
#include "backup/retention_plan.h"
#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

namespace fs = std::filesystem;

class LogArchiveTest : public ::testing::Test {
 protected:
  // Stores a raw log whose content is `content` as segment `sequence`.
  LogSegment store(std::uint64_t sequence, const std::string& previous, const std::string& content) {
    auto raw = m_dir.path() / ("raw" + std::to_string(sequence));
    std::ofstream(raw, std::ios::binary) << content;
    LogSegment segment;
    segment.name = "binlog.00000" + std::to_string(sequence);
    segment.sequence = sequence;
    segment.previous = previous;
    segment.archived_at = parse_utc("2026-11-25T17:40:00.000Z");
    segment.closed_before = parse_utc("2026-11-25T17:39:59.500Z");
    segment.opened_at = parse_utc("2026-11-25T17:00:00.000Z");
    m_archive.store(raw, segment, CompressionSettings{}, nullptr);
    return segment;
  }

  std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  TempDir m_dir;
  Repository m_repository{m_dir.path()};
  LogArchive m_archive{m_repository, "shop"};
  LockFile m_lock = m_archive.lock("test");
};

TEST(log_file_sequence, reads_the_numeric_suffix) {
  EXPECT_EQ(log_file_sequence("binlog.000042"), 42u);
  EXPECT_EQ(log_file_sequence("mysql-bin.1000000"), 1000000u);
  EXPECT_FALSE(log_file_sequence("binlog"));
  EXPECT_FALSE(log_file_sequence("binlog.00a1"));
  EXPECT_FALSE(log_file_sequence("binlog."));
}

TEST(binlog_opened_at, reads_the_first_event_timestamp_and_refuses_other_files) {
  TempDir dir;
  // Magic, then the format description event's header: timestamp 1795636771 (0x6B073E23), little-endian.
  const unsigned char head[] = {0xfe, 'b', 'i', 'n', 0x23, 0x3e, 0x07, 0x6b, 0x0f, 0x01};
  std::ofstream(dir.path() / "binlog.000001", std::ios::binary).write(reinterpret_cast<const char*>(head), sizeof head);
  EXPECT_EQ(binlog_opened_at(dir.path() / "binlog.000001"), std::chrono::system_clock::from_time_t(1795636771));
  std::ofstream(dir.path() / "text") << "not a binary log at all";
  EXPECT_THROW(binlog_opened_at(dir.path() / "text"), Error);
  std::ofstream(dir.path() / "short") << "\xfe"
                                      << "bi";
  EXPECT_THROW(binlog_opened_at(dir.path() / "short"), Error);
}

TEST_F(LogArchiveTest, stores_segments_that_read_back_in_order_and_extract_byte_for_byte) {
  std::string content(100000, 'x');
  content += "end of log";
  store(5, "binlog.000004", "second");
  auto first = store(4, "", content);
  EXPECT_EQ(first.artifact.name, "binlog.000004.zst");
  EXPECT_EQ(first.artifact.raw_bytes, content.size());
  EXPECT_LT(first.artifact.stored_bytes, content.size());

  auto segments = m_archive.segments();
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[0].name, "binlog.000004");
  EXPECT_EQ(segments[1].previous, "binlog.000004");
  EXPECT_EQ(segments[0].artifact.sha256, first.artifact.sha256);
  EXPECT_EQ(segments[0].closed_before, parse_utc("2026-11-25T17:39:59.500Z"));
  EXPECT_EQ(segments[0].opened_at, parse_utc("2026-11-25T17:00:00.000Z"));

  m_archive.extract(segments[0], m_dir.path() / "out", {});
  EXPECT_EQ(read(m_dir.path() / "out"), content);
}

TEST_F(LogArchiveTest, a_cache_reads_each_record_once_and_forgets_removed_ones) {
  auto first = store(4, "", "first");
  store(5, "binlog.000004", "second");
  LogSegmentCache cache;
  EXPECT_EQ(m_archive.segments(cache).size(), 2u);
  EXPECT_EQ(cache.size(), 2u);
  // A cached record is not read again: an edit behind its back is not seen.
  std::ofstream(m_archive.directory() / "binlog.000005.json") << "{ damaged }";
  EXPECT_EQ(m_archive.segments(cache).size(), 2u);
  std::vector<std::string> problems;
  EXPECT_EQ(m_archive.segments(&problems).size(), 1u);
  EXPECT_EQ(problems.size(), 1u);
  m_archive.remove(first);
  EXPECT_EQ(m_archive.segments(cache).size(), 1u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(LogArchiveTest, extract_refuses_a_damaged_segment) {
  auto segment = store(4, "", std::string(5000, 'y'));
  {
    std::fstream file(m_archive.directory() / segment.artifact.name, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(10);
    file.put('\x7f');
  }
  try {
    m_archive.extract(segment, m_dir.path() / "out", {});
    FAIL() << "a damaged segment was extracted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    EXPECT_NE(std::string(e.what()).find("archived binary log 'binlog.000004'"), std::string::npos) << e.what();
    EXPECT_FALSE(fs::exists(m_dir.path() / "out")) << "a damaged extract must not be left behind";
  }
}

TEST_F(LogArchiveTest, a_segment_without_its_record_does_not_exist_and_is_cleaned_up) {
  auto kept = store(4, "", "kept");
  std::ofstream(m_archive.directory() / "binlog.000005.zst") << "left by a crash before the record";
  std::ofstream(m_archive.directory() / "binlog.000006.zst.partial") << "half written";
  fs::create_directory(m_archive.directory() / ".pass-abc123");
  EXPECT_EQ(m_archive.segments().size(), 1u);
  EXPECT_EQ(m_archive.remove_orphans(), 3u);
  EXPECT_TRUE(fs::exists(m_archive.directory() / kept.artifact.name));
  EXPECT_FALSE(fs::exists(m_archive.directory() / "binlog.000005.zst"));
}

TEST_F(LogArchiveTest, replay_directories_go_only_when_old_and_unlocked) {
  auto make = [&](const std::string& name, bool old) {
    auto path = m_archive.directory() / name;
    fs::create_directory(path);
    std::ofstream(path / "binlog.000001") << "decompressed";
    if (old) fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::minutes(5));
    return path;
  };
  auto killed = make(".replay-killed", true);
  auto fresh = make(".replay-fresh", false);
  auto running = make(".replay-running", false);
  auto lock = LockFile::try_acquire(running / "lock", "restore");
  ASSERT_TRUE(lock);
  // Old, so only the lock keeps it.
  fs::last_write_time(running, fs::file_time_type::clock::now() - std::chrono::minutes(5));
  EXPECT_EQ(m_archive.remove_orphans(), 1u);
  EXPECT_FALSE(fs::exists(killed));
  EXPECT_TRUE(fs::exists(fresh));
  EXPECT_TRUE(fs::exists(running / "binlog.000001"));
}

TEST_F(LogArchiveTest, remove_deletes_record_and_data) {
  auto segment = store(4, "", "gone");
  m_archive.remove(segment);
  EXPECT_TRUE(m_archive.segments().empty());
  EXPECT_FALSE(fs::exists(m_archive.directory() / segment.artifact.name));
}

TEST_F(LogArchiveTest, progress_round_trips_and_a_damaged_one_is_an_error) {
  EXPECT_FALSE(m_archive.progress());
  m_archive.write_progress({parse_utc("2026-11-25T17:40:00.123Z"), "binlog.000007", 339});
  auto progress = m_archive.progress();
  ASSERT_TRUE(progress);
  EXPECT_EQ(progress->complete_until, parse_utc("2026-11-25T17:40:00.123Z"));
  EXPECT_EQ(progress->active_file, "binlog.000007");
  EXPECT_EQ(progress->active_position, 339u);
  std::ofstream(m_archive.directory() / "progress.json") << "{ not json";
  EXPECT_THROW(m_archive.progress(), Error);
}

TEST_F(LogArchiveTest, a_second_pass_cannot_take_the_lock) {
  EXPECT_THROW(m_archive.lock("second"), Error);
}

TEST_F(LogArchiveTest, refuses_log_names_that_are_not_plain_file_names) {
  auto raw = m_dir.path() / "raw";
  std::ofstream(raw) << "x";
  for (const char* name : {"../escape.000001", ".hidden.000001", "progress.json", ""}) {
    LogSegment segment;
    segment.name = name;
    EXPECT_THROW(m_archive.store(raw, segment, CompressionSettings{}, nullptr), Error) << name;
  }
}

TEST(plan_log_retention, keeps_segments_from_the_oldest_kept_full_backup_on) {
  auto full = [](const std::string& file) {
    BackupEntry entry;
    entry.manifest.type = "full";
    entry.manifest.log_position.binlog_file = file;
    return entry;
  };
  std::vector<LogSegment> segments;
  for (std::uint64_t i = 3; i <= 7; ++i) {
    LogSegment s;
    s.name = "binlog.00000" + std::to_string(i);
    s.sequence = i;
    segments.push_back(s);
  }
  auto decisions = plan_log_retention({full("binlog.000006"), full("binlog.000005")}, segments);
  ASSERT_EQ(decisions.size(), 5u);
  EXPECT_FALSE(decisions[0].keep);
  EXPECT_FALSE(decisions[1].keep);
  EXPECT_NE(decisions[1].reason.find("binlog.000005"), std::string::npos);
  EXPECT_TRUE(decisions[2].keep);
  EXPECT_TRUE(decisions[4].keep);

  for (const auto& d : plan_log_retention({}, segments)) EXPECT_TRUE(d.keep);
  for (const auto& d : plan_log_retention({full("")}, segments)) EXPECT_TRUE(d.keep);
}

}  // namespace
}  // namespace dbkeeper
