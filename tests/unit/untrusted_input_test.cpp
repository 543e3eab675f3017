// Repository files are input: crafted or damaged ones are refused as such,
// never followed out of the repository, and never crash the reader.

#include "backup/untrusted_input.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "backup/dump_stream.h"
#include "backup/log_archive.h"
#include "backup/manifest.h"
#include "backup/repository.h"
#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

void expect_integrity(const std::function<void()>& action, const std::string& words) {
  try {
    action();
    ADD_FAILURE() << "accepted: " << words;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

BackupManifest manifest_naming(const std::string& file) {
  BackupManifest m;
  m.id = "20261201T000000Z";
  m.target = "shop";
  m.engine = "mariadb";
  ArtifactRecord artifact;
  artifact.name = file;
  artifact.database = "shop";
  m.artifacts.push_back(artifact);
  return m;
}

TEST(UntrustedInput, a_manifest_naming_a_file_outside_its_directory_is_refused) {
  for (const char* name : {"../../etc/shadow", "/etc/shadow", "..", "sub/file", ""})
    expect_integrity([&] { manifest_from_json(manifest_to_json(manifest_naming(name))); }, "not a plain name");
  EXPECT_NO_THROW(manifest_from_json(manifest_to_json(manifest_naming("shop.sql.zst"))));
}

TEST(UntrustedInput, deep_nesting_is_refused_before_it_is_built) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  expect_integrity([&] { parse_untrusted_json(deep, "a manifest"); }, "nested deeper than 32");
  expect_integrity([&] { manifest_from_json(deep); }, "nested deeper");
  std::string object;
  for (int i = 0; i < 50000; ++i) object += "{\"a\":";
  object += "1" + std::string(50000, '}');
  expect_integrity([&] { parse_untrusted_json(object, "state"); }, "nested deeper");
  EXPECT_NO_THROW(parse_untrusted_json("{\"a\": [[[1]]]}", "ok"));
}

TEST(UntrustedInput, the_repository_lists_around_a_hostile_manifest) {
  TempDir dir;
  Repository repository(dir.path());
  auto backup = dir.path() / "shop" / "backups" / "20261201T000000Z";
  std::filesystem::create_directories(backup);
  std::string deep(100000, '{');
  for (const char* name : {"manifest.json", "manifest.copy.json"}) std::ofstream(backup / name) << deep;
  std::vector<std::string> problems;
  EXPECT_TRUE(repository.list("shop", &problems).empty());
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("skipped"), std::string::npos) << problems[0];
}

TEST(UntrustedInput, an_oversized_file_is_refused_unread) {
  TempDir dir;
  auto path = dir.path() / "state.json";
  { std::ofstream(path) << "{}"; }
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(k_max_repository_json_bytes) + 1), 0);
  expect_integrity([&] { read_repository_file(path); }, "more than any dbkeeper writes");
  EXPECT_FALSE(read_repository_file(dir.path() / "missing.json").has_value());
}

TEST(UntrustedInput, a_log_record_naming_a_file_outside_the_archive_is_not_a_segment) {
  TempDir dir;
  Repository repository(dir.path());
  LogArchive archive(repository, "shop");
  std::filesystem::create_directories(archive.directory());
  std::ofstream(archive.directory() / "binlog.000001.json")
      << R"({"name": "binlog.000001", "sequence": 1, "previous": "", "archived_at": "2026-12-01T00:00:00.000Z",
             "closed_before": "2026-12-01T00:00:00.000Z", "file": "../../../../etc/passwd", "format": "binlog",
             "compression": "zstd", "compression_level": 3, "raw_bytes": 1, "stored_bytes": 1, "sha256": "00"})";
  std::vector<std::string> problems;
  EXPECT_TRUE(archive.segments(&problems).empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("not a plain name"), std::string::npos) << problems[0];
}

TEST(UntrustedInput, an_artifact_replaced_by_a_symbolic_link_is_refused) {
  TempDir dir;
  ArtifactRecord artifact;
  artifact.name = "shop.sql.zst";
  std::filesystem::create_symlink("/etc/passwd", dir.path() / artifact.name);
  expect_integrity([&] { check_artifact(dir.path() / artifact.name, artifact, {}); }, "symbolic link");
}

}  // namespace
}  // namespace dbkeeper
