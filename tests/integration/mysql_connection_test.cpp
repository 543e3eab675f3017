#include "core/mysql_connection.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using testing::servers;

TEST(MysqlConnection, connects_over_tcp_with_a_password) {
  auto connection = MysqlConnection::connect(servers().mariadb.user_options());
  EXPECT_NE(connection.server_version().find("MariaDB"), std::string::npos) << connection.server_version();
  EXPECT_EQ(connection.query("SELECT CURRENT_USER()").scalar(), std::string(testing::k_test_user) + "@127.0.0.1");
}

TEST(MysqlConnection, connects_through_the_socket) {
  MysqlConnectOptions options;
  options.socket = servers().mariadb.socket().string();
  options.user = "root";
  auto connection = MysqlConnection::connect(options);
  EXPECT_EQ(connection.query("SELECT 1 + 1").scalar(), "2");
}

TEST(MysqlConnection, returns_nulls_binary_and_unicode_exactly) {
  auto connection = MysqlConnection::connect(servers().mariadb.user_options());
  auto result = connection.query("SELECT NULL AS n, X'00FF0041' AS b, 'Grüße 🐘' AS u");
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.columns, (std::vector<std::string>{"n", "b", "u"}));
  EXPECT_FALSE(result.rows[0][0].has_value());
  EXPECT_EQ(*result.rows[0][1], std::string("\0\xff\0A", 4));
  EXPECT_EQ(*result.rows[0][2], "Grüße 🐘");
}

TEST(MysqlConnection, quotes_reserved_words_and_strings) {
  auto connection = MysqlConnection::connect(servers().mariadb.user_options());
  connection.execute("CREATE DATABASE IF NOT EXISTS quoting");
  connection.execute("CREATE TABLE IF NOT EXISTS quoting." + MysqlConnection::quote_identifier("order`by") +
                     " (v TEXT)");
  connection.execute("INSERT INTO quoting." + MysqlConnection::quote_identifier("order`by") + " VALUES (" +
                     connection.quote_string("it's \\ \"quoted\"") + ")");
  EXPECT_EQ(connection.query("SELECT v FROM quoting.`order``by`").scalar(), "it's \\ \"quoted\"");
  connection.execute("DROP DATABASE quoting");
}

TEST(MysqlConnection, wrong_password_carries_the_server_message_but_not_the_password) {
  auto options = servers().mariadb.user_options();
  options.password = "wrong-pa55word-9d2e";
  try {
    MysqlConnection::connect(options);
    FAIL() << "connected with a wrong password";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_NE(message.find("unable to connect to MySQL at 127.0.0.1:" + std::to_string(servers().mariadb.port()) +
                           " as 'dbkeeper': ERROR 1045 (28000): Access denied"),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("wrong-pa55word-9d2e"), std::string::npos);
  }
}

TEST(MysqlConnection, server_errors_become_query_errors_with_the_server_message) {
  auto connection = MysqlConnection::connect(servers().mariadb.user_options());
  try {
    connection.query("SELECT * FROM no_such_db.no_such_table");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::query);
    EXPECT_NE(std::string(e.what()).find("ERROR 1146 (42S02): Table 'no_such_db.no_such_table' doesn't exist"),
              std::string::npos)
        << e.what();
  }
  // The connection stays usable after an error.
  EXPECT_EQ(connection.query("SELECT 7").scalar(), "7");
}

TEST(MysqlConnection, a_closed_port_fails_fast_as_a_connection_error) {
  auto options = servers().mariadb.user_options();
  options.port = testing::free_loopback_port();
  auto started = std::chrono::steady_clock::now();
  try {
    MysqlConnection::connect(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_NE(std::string(e.what()).find("ERROR 2002"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(MysqlConnection, read_timeout_bounds_a_slow_statement) {
  auto options = servers().mariadb.user_options();
  options.read_timeout = 1s;
  auto connection = MysqlConnection::connect(options);
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(connection.query("SELECT SLEEP(10)"), Error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
}

}  // namespace
}  // namespace dbkeeper
