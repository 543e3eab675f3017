#include "backup/engines/mysql_definer_scanner.h"

#include <gtest/gtest.h>

#include <string>

namespace dbkeeper {
namespace {

using Accounts = std::set<std::pair<std::string, std::string>>;

// Feeds `text` in pieces of `piece` bytes, so clauses are cut anywhere.
Accounts scan(const std::string& text, std::size_t piece) {
  MysqlDefinerScanner scanner;
  for (std::size_t at = 0; at < text.size(); at += piece) {
    auto part = std::string_view(text).substr(at, piece);
    scanner.write(std::as_bytes(std::span(part.data(), part.size())));
  }
  scanner.finish();
  return scanner.definers();
}

const std::string k_dump =
    "/*!50001 CREATE ALGORITHM=UNDEFINED */\n"
    "/*!50013 DEFINER=`app_owner`@`localhost` SQL SECURITY DEFINER */\n"
    "/*!50001 VIEW `catalog` AS select 1 */;\n"
    "/*!50003 CREATE*/ /*!50017 DEFINER=`ops`@`10.0.%`*/ /*!50003 TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @a = 1 "
    "*/;;\n"
    "CREATE DEFINER=`we``ird`@`%` FUNCTION `f`() RETURNS int RETURN 1 ;;\n"
    "/*!50106 CREATE*/ /*!50117 DEFINER=`app_owner`@`localhost`*/ /*!50106 EVENT `purge_log` ON SCHEDULE EVERY 1 DAY "
    "DO DELETE FROM log */ ;;\n";

TEST(MysqlDefinerScanner, finds_every_account_however_the_stream_is_cut) {
  Accounts expected{{"app_owner", "localhost"}, {"ops", "10.0.%"}, {"we`ird", "%"}};
  for (std::size_t piece : {1u, 2u, 3u, 7u, 10u, 64u, 4096u}) EXPECT_EQ(scan(k_dump, piece), expected) << piece;
}

TEST(MysqlDefinerScanner, ignores_what_is_not_a_definer_clause) {
  EXPECT_TRUE(scan("INSERT INTO t VALUES ('DEFINER'),('definer=`x`@`y`');\n", 5).empty());
  EXPECT_TRUE(scan("DEFINER=`unterminated", 3).empty());
  EXPECT_TRUE(scan("DEFINER=`name_only` SQL SECURITY INVOKER", 4).empty());
}

}  // namespace
}  // namespace dbkeeper
