#include "core/postgres_connection.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using testing::servers;

TEST(PostgresConnection, connects_over_tcp_with_a_password) {
  auto connection = PostgresConnection::connect(servers().postgres.user_options());
  EXPECT_FALSE(connection.server_version().empty());
  EXPECT_EQ(connection.query("SELECT current_user").scalar(), testing::k_test_user);
}

TEST(PostgresConnection, connects_through_the_socket_directory) {
  auto connection = servers().postgres.admin();
  EXPECT_EQ(connection.query("SELECT 1 + 1").scalar(), "2");
}

TEST(PostgresConnection, returns_nulls_bytea_and_unicode) {
  auto connection = PostgresConnection::connect(servers().postgres.user_options());
  auto result = connection.query("SELECT NULL::text AS n, '\\x00ff'::bytea AS b, 'Grüße 🐘' AS u");
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.columns, (std::vector<std::string>{"n", "b", "u"}));
  EXPECT_FALSE(result.rows[0][0].has_value());
  EXPECT_EQ(*result.rows[0][1], "\\x00ff");
  EXPECT_EQ(*result.rows[0][2], "Grüße 🐘");
}

TEST(PostgresConnection, quotes_identifiers) {
  auto connection = PostgresConnection::connect(servers().postgres.user_options());
  auto name = PostgresConnection::quote_identifier("select\"me");
  connection.execute("CREATE TEMP TABLE " + name + " (v int)");
  connection.execute("INSERT INTO " + name + " VALUES (42)");
  EXPECT_EQ(connection.query("SELECT v FROM \"select\"\"me\"").scalar(), "42");
}

TEST(PostgresConnection, wrong_password_carries_the_server_message_but_not_the_password) {
  auto options = servers().postgres.user_options();
  options.password = "wrong-pa55word-7a1b";
  try {
    PostgresConnection::connect(options);
    FAIL() << "connected with a wrong password";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_NE(message.find("password authentication failed for user \"dbkeeper\""), std::string::npos) << message;
    EXPECT_EQ(message.find("wrong-pa55word-7a1b"), std::string::npos);
  }
}

TEST(PostgresConnection, a_missing_database_is_named_by_the_server) {
  auto options = servers().postgres.user_options();
  options.database = "no_such_database";
  try {
    PostgresConnection::connect(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("database \"no_such_database\" does not exist"), std::string::npos)
        << e.what();
  }
}

TEST(PostgresConnection, server_errors_carry_sqlstate_and_message) {
  auto connection = PostgresConnection::connect(servers().postgres.user_options());
  try {
    connection.query("SELECT * FROM no_such_table");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::query);
    EXPECT_NE(std::string(e.what()).find("ERROR 42P01: relation \"no_such_table\" does not exist"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(connection.query("SELECT 7").scalar(), "7");
}

TEST(PostgresConnection, statement_timeout_bounds_a_slow_statement) {
  auto options = servers().postgres.user_options();
  options.statement_timeout = 1s;
  auto connection = PostgresConnection::connect(options);
  try {
    connection.query("SELECT pg_sleep(10)");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("57014"), std::string::npos) << e.what();
  }
}

TEST(PostgresConnection, a_closed_port_fails_as_a_connection_error) {
  auto options = servers().postgres.user_options();
  options.port = testing::free_loopback_port();
  try {
    PostgresConnection::connect(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_NE(std::string(e.what()).find("Connection refused"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dbkeeper
