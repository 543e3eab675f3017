#include "backup/engines/mysql_dump_scanner.h"

#include <gtest/gtest.h>

namespace dbkeeper {
namespace {

// Feeds `text` in chunks of `chunk` bytes, so state crosses buffer edges.
MysqlDumpScanner scan(const std::string& text, std::size_t chunk = 7) {
  MysqlDumpScanner scanner;
  for (std::size_t at = 0; at < text.size(); at += chunk) {
    auto piece = std::string_view(text).substr(at, chunk);
    scanner.write(std::as_bytes(std::span(piece.data(), piece.size())));
  }
  scanner.finish();
  return scanner;
}

const std::string k_dump = R"(-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB
-- CHANGE MASTER TO MASTER_LOG_FILE='binlog.000003', MASTER_LOG_POS=1422;
CREATE TABLE `order` (
  `x` int(11) DEFAULT NULL
) ENGINE=Aria;
INSERT INTO `order` VALUES
(1),
(2),
(3);
CREATE TABLE `t``x` (`id` int);
INSERT INTO `t``x` VALUES (1,'a\'b\\c),(',0x00FF),(2,NULL,'it''s; (fine)'),(3,'emoji 🐘 (',NULL);
INSERT INTO `t``x` VALUES (4,'x',NULL);
CREATE TABLE `empty` (`id` int);
/*!50001 CREATE VIEW `v` AS SELECT 1 AS `id` */;
-- SET GLOBAL gtid_slave_pos='0-1-6';
-- Dump completed on 2026-11-25 17:38:43
)";

TEST(MysqlDumpScanner, counts_rows_per_table_across_chunk_edges) {
  for (std::size_t chunk : {1, 2, 7, 64, 100000}) {
    auto scanner = scan(k_dump, chunk);
    auto tables = scanner.tables();
    ASSERT_EQ(tables.size(), 3u) << chunk;
    EXPECT_EQ(tables[0].name, "order");
    EXPECT_EQ(tables[0].rows, 3u);
    EXPECT_EQ(tables[1].name, "t`x");
    EXPECT_EQ(tables[1].rows, 4u) << "chunk " << chunk;
    EXPECT_EQ(tables[2].name, "empty");
    EXPECT_EQ(tables[2].rows, 0u);
  }
}

TEST(MysqlDumpScanner, reads_the_binlog_position_and_gtid) {
  auto scanner = scan(k_dump);
  EXPECT_EQ(scanner.position().binlog_file, "binlog.000003");
  EXPECT_EQ(scanner.position().binlog_position, 1422u);
  EXPECT_EQ(scanner.position().gtid, "0-1-6");
  EXPECT_TRUE(scanner.completed());
}

TEST(MysqlDumpScanner, a_truncated_dump_is_not_completed) {
  auto scanner = scan(k_dump.substr(0, k_dump.find("-- Dump completed")));
  EXPECT_FALSE(scanner.completed());
}

TEST(MysqlDumpScanner, passes_every_byte_on) {
  CountingSink counter;
  MysqlDumpScanner scanner(&counter);
  scanner.write(std::as_bytes(std::span(k_dump.data(), k_dump.size())));
  scanner.finish();
  EXPECT_EQ(counter.bytes(), k_dump.size());
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

// Generated, invisible and system-versioning columns make mariadb-dump
// name the columns; those rows count like any others.
TEST(MysqlDumpScanner, counts_inserts_with_a_column_list) {
  auto scanner = scan(
      "CREATE TABLE `products` (`id` int);\n"
      "INSERT INTO `products` (`id`, `name`, `slug`) VALUES (1,'a (b)','x'),(2,'c',NULL);\n"
      "CREATE TABLE `prices` (`id` int) WITH SYSTEM VERSIONING;\n"
      "INSERT INTO `prices` (`id`, `x`, row_start, row_end) VALUES (1,1,'2026-01-01 00:00:00.000000',"
      "'2026-01-02 00:00:00.000000'),\n(1,2,'2026-01-02 00:00:00.000000','2038-01-19 03:14:07.999999');\n"
      "-- Dump completed on 2026-12-01\n");
  auto tables = scanner.tables();
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].name, "products");
  EXPECT_EQ(tables[0].rows, 2u);
  EXPECT_EQ(tables[1].name, "prices");
  EXPECT_EQ(tables[1].rows, 2u);
}

}  // namespace
}  // namespace dbkeeper
