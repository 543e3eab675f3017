// The MySQL/MariaDB collector against the real server: slow statements made
// with SLEEP() raise the counter, a long statement is seen while it runs.

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "collectors/mysql_collector.h"
#include "collectors/statement_summary.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using namespace testing;

std::string exposition(const Collector& collector) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector.collect());
  return out.str();
}

class MysqlCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    create_mariadb_fixture("collector_fixture");
    m_target = mariadb_target({"collector_fixture"});
    m_target.queries.slow_threshold = 500ms;
    CollectorSettings settings;
    settings.timeout = 5s;
    m_collector = make_mysql_collector(CollectorContext{&m_target, {}, nullptr, settings, {}});
    ASSERT_NE(m_collector, nullptr);
  }

  std::optional<double> value(const std::string& series) { return sample_value(exposition(*m_collector), series); }

  Target m_target;
  std::unique_ptr<Collector> m_collector;
};

TEST_F(MysqlCollectorTest, row_operations_and_lock_waits_move_when_sessions_make_them) {
  m_collector->refresh();
  auto inserted = value(R"(dbkeeper_rows_total{target="shop",operation="inserted"})");
  auto waits = value(R"(dbkeeper_lock_waits_total{target="shop",kind="row"})");
  ASSERT_TRUE(inserted && waits) << exposition(*m_collector);
  EXPECT_EQ(value(R"(dbkeeper_sessions_waiting_on_locks{target="shop",lock_type="row"})"), 0);
  auto admin = servers().mariadb.admin();
  for (int i = 0; i < 10; ++i)
    admin.execute("INSERT INTO collector_fixture.customers (id, name) VALUES (" + std::to_string(5000 + i) +
                  ", 'counted')");

  // A second session holds the row; a third waits for it.
  auto holder = servers().mariadb.admin();
  holder.execute("BEGIN");
  holder.execute("SELECT id FROM collector_fixture.customers WHERE id = 5000 FOR UPDATE");
  std::thread waiter([] {
    servers().mariadb.admin().execute("UPDATE collector_fixture.customers SET name = 'waited' WHERE id = 5000");
  });
  bool seen_waiting = eventually(
      [&] {
        m_collector->refresh();
        return value(R"(dbkeeper_sessions_waiting_on_locks{target="shop",lock_type="row"})") == 1;
      },
      5s);
  std::this_thread::sleep_for(300ms);  // a wait of a measurable length
  holder.execute("COMMIT");
  waiter.join();
  EXPECT_TRUE(seen_waiting) << exposition(*m_collector);
  m_collector->refresh();
  EXPECT_GE(*value(R"(dbkeeper_rows_total{target="shop",operation="inserted"})"), *inserted + 10);
  EXPECT_GE(*value(R"(dbkeeper_lock_waits_total{target="shop",kind="row"})"), *waits + 1);
  EXPECT_GT(*value(R"(dbkeeper_lock_wait_seconds_total{target="shop",kind="row"})"), 0.2);
  EXPECT_TRUE(value(R"(dbkeeper_deadlocks_total{target="shop"})").has_value()) << "MariaDB counts deadlocks";
  admin.execute("DELETE FROM collector_fixture.customers WHERE id >= 5000 AND id < 5010");
}

TEST_F(MysqlCollectorTest, statements_are_counted_by_kind) {
  m_collector->refresh();
  auto selects = value(R"(dbkeeper_statements_total{target="shop",kind="select"})");
  auto others = value(R"(dbkeeper_statements_total{target="shop",kind="other"})");
  ASSERT_TRUE(selects && others) << exposition(*m_collector);
  auto session = MysqlConnection::connect(servers().mariadb.user_options());
  for (int i = 0; i < 25; ++i) session.query("SELECT " + std::to_string(i));
  for (int i = 0; i < 5; ++i) session.query("SHOW DATABASES");
  m_collector->refresh();
  // The collector's own statements count too: at least the session's.
  EXPECT_GE(*value(R"(dbkeeper_statements_total{target="shop",kind="select"})"), *selects + 25);
  EXPECT_GE(*value(R"(dbkeeper_statements_total{target="shop",kind="other"})"), *others + 5);
}

TEST_F(MysqlCollectorTest, only_the_largest_tables_are_exported_and_a_growing_one_enters) {
  auto admin = servers().mariadb.admin();
  admin.execute("DROP DATABASE IF EXISTS collector_tables");
  admin.execute("CREATE DATABASE collector_tables");
  for (int i = 1; i <= 5; ++i) {
    std::string table = "collector_tables.t" + std::to_string(i);
    admin.execute("CREATE TABLE " + table + " (id INT PRIMARY KEY, body VARCHAR(200)) ENGINE=InnoDB");
    admin.execute("INSERT INTO " + table + " SELECT seq, REPEAT('x', 200) FROM collector_tables.seq_1_to_" +
                  std::to_string(i * 400));
    admin.execute("ANALYZE TABLE " + table);
  }
  m_target.queries.top_tables = 3;
  CollectorSettings settings;
  settings.timeout = 5s;
  auto collector = make_mysql_collector(CollectorContext{&m_target, {}, nullptr, settings, {}});
  auto listed = [&] {
    collector->refresh();
    auto text = exposition(*collector);
    std::vector<std::string> tables;
    for (int i = 1; i <= 5; ++i)
      if (sample_value(text, R"(dbkeeper_table_size_bytes{target="shop",database="collector_tables",table="t)" +
                                 std::to_string(i) + R"(",part="data"})"))
        tables.push_back("t" + std::to_string(i));
    return tables;
  };
  EXPECT_EQ(listed(), (std::vector<std::string>{"t3", "t4", "t5"}));
  admin.execute(
      "INSERT INTO collector_tables.t1 SELECT seq + 1000, REPEAT('y', 200) FROM collector_tables.seq_1_to_6000");
  admin.execute("ANALYZE TABLE collector_tables.t1");
  // t1 is now the largest; t3 dropped out, and its series with it.
  EXPECT_EQ(listed(), (std::vector<std::string>{"t1", "t4", "t5"}));
  EXPECT_GT(*sample_value(exposition(*collector),
                          R"(dbkeeper_table_rows_estimate{target="shop",database="collector_tables",table="t1"})"),
            3000);
  admin.execute("DROP DATABASE collector_tables");
}

TEST_F(MysqlCollectorTest, a_session_sleeping_in_a_transaction_is_idle_in_transaction) {
  m_collector->refresh();
  auto before = value(R"(dbkeeper_connections{target="shop",state="idle_in_transaction"})");
  ASSERT_TRUE(before.has_value()) << exposition(*m_collector);
  auto session = MysqlConnection::connect(servers().mariadb.user_options());
  // A write registers the transaction with InnoDB (a plain read may not, until it locks).
  session.execute("START TRANSACTION");
  session.execute("UPDATE collector_fixture.customers SET name = name WHERE id = 1");
  // information_schema.INNODB_TRX is a cache InnoDB refreshes every 0.1 s.
  auto idle_in_transaction = [&](double expected) {
    return eventually(
        [&] {
          m_collector->refresh();
          return value(R"(dbkeeper_connections{target="shop",state="idle_in_transaction"})") == expected;
        },
        3s);
  };
  EXPECT_TRUE(idle_in_transaction(*before + 1)) << exposition(*m_collector);
  session.execute("COMMIT");
  EXPECT_TRUE(idle_in_transaction(*before)) << exposition(*m_collector);
}

TEST_F(MysqlCollectorTest, exports_sizes_connections_ratio_and_digests) {
  m_collector->refresh();
  auto text = exposition(*m_collector);
  EXPECT_GT(*sample_value(text, R"(dbkeeper_database_size_bytes{target="shop",database="collector_fixture"})"), 0)
      << text;
  EXPECT_GE(*sample_value(text, R"(dbkeeper_connections{target="shop",state="active"})"), 1);
  auto ratio = *sample_value(text, R"(dbkeeper_mysql_innodb_buffer_pool_hit_ratio{target="shop"})");
  EXPECT_GE(ratio, 0);
  EXPECT_LE(ratio, 1);
  EXPECT_NE(text.find("dbkeeper_statement_mean_seconds{target=\"shop\",digest=\""), std::string::npos) << text;
  // Beside each mean, the slowest call of the same digest, never below it.
  auto at = text.find("dbkeeper_statement_mean_seconds{target=\"shop\",digest=\"");
  ASSERT_NE(at, std::string::npos);
  auto series = text.substr(at, text.find(' ', at) - at);
  auto digest = series.substr(series.find("digest="));
  auto slowest = sample_value(text, "dbkeeper_statement_max_seconds{target=\"shop\"," + digest);
  ASSERT_TRUE(slowest.has_value()) << text;
  EXPECT_GE(*slowest * 1.000001, *sample_value(text, series)) << digest;
  // The digest text never appears, only its hash.
  EXPECT_EQ(text.find("SELECT"), std::string::npos);
}

TEST_F(MysqlCollectorTest, a_user_without_replica_privileges_loses_only_the_replica_lag) {
  auto admin = servers().mariadb.admin();
  admin.execute("DROP USER IF EXISTS 'backup_only'@'127.0.0.1'");
  admin.execute("CREATE USER 'backup_only'@'127.0.0.1' IDENTIFIED BY 'b4ckup-only'");
  // The privileges of docs/configuration.md for backups, without SLAVE MONITOR.
  admin.execute("GRANT SELECT, SHOW VIEW, PROCESS, RELOAD, REPLICATION CLIENT ON *.* TO 'backup_only'@'127.0.0.1'");
  m_target.user = "backup_only";
  m_target.password = Secret("b4ckup-only");
  m_collector->refresh();
  auto text = exposition(*m_collector);
  EXPECT_GT(*sample_value(text, R"(dbkeeper_database_size_bytes{target="shop",database="collector_fixture"})"), 0)
      << text;
  EXPECT_FALSE(sample_value(text, R"(dbkeeper_mysql_replica_lag_seconds{target="shop"})"));
  admin.execute("DROP USER 'backup_only'@'127.0.0.1'");
}

TEST_F(MysqlCollectorTest, slow_statements_raise_the_counter) {
  auto admin = servers().mariadb.admin();
  admin.execute("SET GLOBAL long_query_time = 0.5");
  m_collector->refresh();
  double before = *value(R"(dbkeeper_slow_queries_total{target="shop"})");
  {
    auto session = MysqlConnection::connect(servers().mariadb.user_options());
    session.query("SELECT SLEEP(0.7)");
    session.query("SELECT SLEEP(0.7)");
  }
  m_collector->refresh();
  admin.execute("SET GLOBAL long_query_time = 10");
  EXPECT_EQ(*value(R"(dbkeeper_slow_queries_total{target="shop"})"), before + 2);
}

TEST_F(MysqlCollectorTest, a_long_statement_is_seen_while_it_runs) {
  m_collector->refresh();
  EXPECT_EQ(value(R"(dbkeeper_long_running_queries{target="shop"})"), 0);
  std::thread sleeper([] {
    auto session = MysqlConnection::connect(servers().mariadb.user_options());
    session.query("SELECT SLEEP(2.5)");
  });
  std::this_thread::sleep_for(1200ms);
  m_collector->refresh();
  auto during = value(R"(dbkeeper_long_running_queries{target="shop"})");
  sleeper.join();
  m_collector->refresh();
  EXPECT_EQ(during, 1);
  EXPECT_EQ(value(R"(dbkeeper_long_running_queries{target="shop"})"), 0);
}

TEST_F(MysqlCollectorTest, an_unreachable_server_fails_the_refresh) {
  m_target.port = free_loopback_port();
  CollectorSettings settings;
  auto collector = make_mysql_collector(CollectorContext{&m_target, {}, nullptr, settings, {}});
  EXPECT_THROW(collector->refresh(), Error);
}

TEST(mysql_collector, declines_other_engines) {
  Target target;
  target.engine = "postgres";
  EXPECT_EQ(make_mysql_collector(CollectorContext{&target, {}, nullptr, {}, {}}), nullptr);
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

TEST(queries_command, prints_the_slowest_statements_with_their_text) {
  TempDir dir;
  auto password = dir.path() / "password";
  std::ofstream(password) << testing::k_test_password << "\n";
  ::chmod(password.c_str(), 0600);
  auto config = dir.path() / "dbkeeper.toml";
  std::ofstream(config) << "[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nport = "
                        << testing::servers().mariadb.port() << "\nuser = \"" << testing::k_test_user
                        << "\"\npassword_file = \"" << password.string() << "\"\n"
                        << "[[target]]\nname = \"billing\"\nengine = \"postgres\"\nport = "
                        << testing::servers().postgres.port() << "\nuser = \"" << testing::k_test_user
                        << "\"\npassword_file = \"" << password.string() << "\"\ndatabases = [\"postgres\"]\n";
  MysqlConnection::connect(testing::servers().mariadb.user_options()).query("SELECT SLEEP(0.3)");
  PostgresConnection::connect(testing::servers().postgres.user_options()).query("SELECT pg_sleep(0.3)");
  for (const char* target : {"shop", "billing"}) {
    auto text = testing::run_dbkeeper({"queries", target, "--limit", "3", "--config", config.string()});
    EXPECT_EQ(text.status.code, 0) << text.stderr_text;
    EXPECT_TRUE(text.stdout_text.starts_with("DIGEST ")) << text.stdout_text;
    EXPECT_NE(text.stdout_text.find(std::string(target) == "shop" ? "SLEEP" : "pg_sleep"), std::string::npos)
        << text.stdout_text;
    auto json = testing::run_dbkeeper({"queries", target, "--json", "--config", config.string()});
    auto array = nlohmann::json::parse(json.stdout_text);
    ASSERT_FALSE(array.empty());
    EXPECT_TRUE(array[0].contains("digest") && array[0].contains("text") && array[0].contains("mean_seconds"));
  }
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

// Each digest series once, whatever the number of lines with that name.
std::map<std::string, int> digest_series(const std::string& text) {
  std::map<std::string, int> seen;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("dbkeeper_statement_mean_seconds{")) ++seen[line.substr(0, line.find('}') + 1)];
  return seen;
}

// The server keeps one row per digest and schema: the same statement in two
// schemas must still be one series (a duplicate breaks the exposition).
TEST(mysql_collector, a_digest_run_in_two_schemas_is_one_series) {
  create_mariadb_fixture("digest_one");
  create_mariadb_fixture("digest_two");
  // The digest table has a fixed size; after the rest of the suite it may be
  // full, and new digests then only count in its overflow row.
  servers().mariadb.admin().execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
  Target target = mariadb_target({"digest_one", "digest_two"});
  target.queries.top_n = 100;
  CollectorSettings settings;
  auto collector = make_mysql_collector(CollectorContext{&target, {}, nullptr, settings, {}});
  for (const char* schema : {"digest_one", "digest_two"}) {
    auto options = servers().mariadb.user_options();
    options.database = schema;
    auto session = MysqlConnection::connect(options);
    for (int i = 0; i < 3; ++i) session.query("SELECT COUNT(*) FROM audit WHERE id > " + std::to_string(i));
  }
  collector->refresh();
  auto text = exposition(*collector);
  auto series = digest_series(text);
  ASSERT_FALSE(series.empty()) << text;
  for (const auto& [name, count] : series) EXPECT_EQ(count, 1) << name;

  auto summaries = top_statements(target, 100);
  bool both = false;
  for (const auto& s : summaries)
    if (s.text.find("audit") != std::string::npos && s.schemas == "digest_one,digest_two") both = true;
  EXPECT_TRUE(both) << "queries names both schemas";
}

}  // namespace
}  // namespace dbkeeper
