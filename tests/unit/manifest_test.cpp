#include "backup/manifest.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace dbkeeper {
namespace {

BackupManifest sample() {
  BackupManifest m;
  m.id = "20261125T174000Z";
  m.target = "shop";
  m.engine = "mariadb";
  m.server_product = "MariaDB";
  m.server_version = "10.11.19";
  m.tool = "mariadb-dump";
  m.tool_version = "mariadb-dump Ver 10.19";
  m.started_at = parse_utc("2026-11-25T17:40:00.125Z");
  m.finished_at = parse_utc("2026-11-25T17:40:02.625Z");
  m.databases = {"shop"};
  m.tables["shop"] = {{"customers", 3}, {"order", 7}};
  m.artifacts.push_back({"shop.sql.zst", "shop", "sql", "zstd", 3, 1000, 300, std::string(64, 'a')});
  m.log_position.binlog_file = "binlog.000002";
  m.log_position.binlog_position = 1234;
  m.log_position.gtid = "0-1-9";
  m.row_count_source = "dump";
  return m;
}

TEST(manifest, round_trips_through_json) {
  auto m = manifest_from_json(manifest_to_json(sample()));
  EXPECT_EQ(m.id, "20261125T174000Z");
  EXPECT_EQ(format_utc(m.started_at), "2026-11-25T17:40:00.125Z");
  EXPECT_DOUBLE_EQ(m.duration_seconds(), 2.5);
  EXPECT_EQ(m.tables.at("shop")[1].name, "order");
  EXPECT_EQ(m.tables.at("shop")[1].rows, 7u);
  EXPECT_EQ(m.artifacts.at(0).stored_bytes, 300u);
  EXPECT_EQ(m.raw_bytes(), 1000u);
  EXPECT_EQ(m.log_position.binlog_position, 1234u);
  EXPECT_EQ(m.log_position.gtid, "0-1-9");
}

TEST(manifest, round_trips_directory_artifacts) {
  auto m = sample();
  ArtifactRecord directory{"billing.pgdir", "billing", "pg_directory", "gzip", 0, 500, 120, std::string(64, 'b'), {}};
  directory.files = {{"toc.dat", 100, 100, std::string(64, 'c')}, {"3012.dat.gz", 400, 20, std::string(64, 'd')}};
  m.artifacts.push_back(directory);
  auto back = manifest_from_json(manifest_to_json(m));
  ASSERT_EQ(back.artifacts.size(), 2u);
  EXPECT_TRUE(back.artifacts[0].files.empty());
  ASSERT_EQ(back.artifacts[1].files.size(), 2u);
  EXPECT_EQ(back.artifacts[1].files[1].name, "3012.dat.gz");
  EXPECT_EQ(back.artifacts[1].files[1].raw_bytes, 400u);
}

TEST(manifest, round_trips_encryption_and_each_artifacts_own_log_position) {
  auto m = sample();
  m.artifacts[0].encryption = "aes-256-gcm";
  m.artifacts[0].log_position = {"binlog.000003", 77, "0-1-12", ""};
  auto back = manifest_from_json(manifest_to_json(m));
  EXPECT_EQ(back.artifacts[0].encryption, "aes-256-gcm");
  EXPECT_EQ(back.artifacts[0].log_position.binlog_file, "binlog.000003");
  EXPECT_EQ(back.artifacts[0].log_position.binlog_position, 77u);
  EXPECT_EQ(back.artifacts[0].log_position.gtid, "0-1-12");
  // A manifest written before either existed reads as clear text with no position of its own.
  back = manifest_from_json(manifest_to_json(sample()));
  EXPECT_EQ(back.artifacts[0].encryption, "");
  EXPECT_TRUE(back.artifacts[0].log_position.empty());
  EXPECT_EQ(manifest_to_json(sample()).find("encryption"), std::string::npos);
}

TEST(manifest, detects_an_edited_value) {
  auto text = manifest_to_json(sample());
  auto at = text.find("\"rows\": 7");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 9, "\"rows\": 8");
  try {
    manifest_from_json(text);
    FAIL() << "accepted a tampered manifest";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    EXPECT_STREQ(e.what(), "manifest checksum does not match");
  }
}

TEST(manifest, rejects_truncated_text) {
  auto text = manifest_to_json(sample());
  EXPECT_THROW(manifest_from_json(text.substr(0, text.size() / 2)), Error);
}

TEST(format_utc, is_sortable_and_parses_back) {
  auto time = parse_utc("2026-01-02T03:04:05.006Z");
  EXPECT_EQ(format_utc(time), "2026-01-02T03:04:05.006Z");
  EXPECT_LT(format_utc(time), format_utc(time + std::chrono::milliseconds(1)));
  EXPECT_THROW(parse_utc("yesterday"), Error);
}

}  // namespace
}  // namespace dbkeeper
