// The PostgreSQL collector against the real server: pg_sleep() statements
// raise the delta-derived slow counter, a long statement is seen while it
// runs, and without pg_stat_statements the rest is still exported.

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <sstream>
#include <thread>

#include "collectors/postgres_collector.h"
#include "core/error.h"
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

class PostgresCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_target = postgres_target({"postgres"});  // where the harness created pg_stat_statements
    m_target.queries.slow_threshold = 300ms;
    CollectorSettings settings;
    settings.timeout = 5s;
    m_collector = make_postgres_collector(CollectorContext{&m_target, {}, nullptr, settings, {}});
    ASSERT_NE(m_collector, nullptr);
  }

  std::optional<double> value(const std::string& series) { return sample_value(exposition(*m_collector), series); }

  Target m_target;
  std::unique_ptr<Collector> m_collector;
};

TEST_F(PostgresCollectorTest, slow_statements_raise_the_counter_from_deltas) {
  m_collector->refresh();  // the baseline
  EXPECT_EQ(value(R"(dbkeeper_slow_queries_total{target="billing"})"), 0);
  auto session = PostgresConnection::connect(servers().postgres.user_options());
  session.query("SELECT pg_sleep(0.4)");
  session.query("SELECT pg_sleep(0.4)");
  for (int i = 0; i < 20; ++i) session.query("SELECT 1 + " + std::to_string(i));  // fast ones do not count
  m_collector->refresh();
  EXPECT_EQ(value(R"(dbkeeper_slow_queries_total{target="billing"})"), 2);
  m_collector->refresh();  // no new calls, no change
  EXPECT_EQ(value(R"(dbkeeper_slow_queries_total{target="billing"})"), 2);
  auto text = exposition(*m_collector);
  EXPECT_NE(text.find("dbkeeper_statement_mean_seconds{target=\"billing\",digest=\""), std::string::npos) << text;
  // Beside each mean, the slowest call of the same digest, never below it.
  auto at = text.find("dbkeeper_statement_mean_seconds{target=\"billing\",digest=\"");
  ASSERT_NE(at, std::string::npos);
  auto series = text.substr(at, text.find(' ', at) - at);
  auto digest = series.substr(series.find("digest="));
  auto slowest = sample_value(text, "dbkeeper_statement_max_seconds{target=\"billing\"," + digest);
  ASSERT_TRUE(slowest.has_value()) << text;
  EXPECT_GE(*slowest * 1.000001, *sample_value(text, series)) << digest;
  EXPECT_EQ(text.find("pg_sleep"), std::string::npos);
}

TEST_F(PostgresCollectorTest, row_operations_and_sessions_waiting_on_locks_move_when_sessions_make_them) {
  create_postgres_fixture("collector_rows");
  m_collector->refresh();
  auto inserted = value(R"(dbkeeper_rows_total{target="billing",operation="inserted"})");
  ASSERT_TRUE(inserted.has_value()) << exposition(*m_collector);
  EXPECT_EQ(value(R"(dbkeeper_sessions_waiting_on_locks{target="billing",lock_type="transactionid"})"), 0);
  {
    auto writer = servers().postgres.admin("collector_rows");
    for (int i = 0; i < 10; ++i)
      writer.execute("INSERT INTO customers (id, name) VALUES (" + std::to_string(5000 + i) + ", 'counted')");
  }
  // A second session holds the row; a third waits for its transaction.
  auto holder = servers().postgres.admin("collector_rows");
  holder.execute("BEGIN");
  holder.execute("UPDATE customers SET name = 'held' WHERE id = 5000");
  std::thread waiter([] {
    servers().postgres.admin("collector_rows").execute("UPDATE customers SET name = 'waited' WHERE id = 5000");
  });
  bool seen_waiting = eventually(
      [&] {
        m_collector->refresh();
        return value(R"(dbkeeper_sessions_waiting_on_locks{target="billing",lock_type="transactionid"})") == 1;
      },
      5s);
  holder.execute("COMMIT");
  waiter.join();
  EXPECT_TRUE(seen_waiting) << exposition(*m_collector);
  // Sessions report their counters when they end or go idle.
  EXPECT_TRUE(eventually(
      [&] {
        m_collector->refresh();
        return *value(R"(dbkeeper_rows_total{target="billing",operation="inserted"})") >= *inserted + 10;
      },
      5s))
      << exposition(*m_collector);
  EXPECT_TRUE(value(R"(dbkeeper_deadlocks_total{target="billing"})").has_value());
}

TEST_F(PostgresCollectorTest, transactions_and_statements_are_counted) {
  m_collector->refresh();
  auto rollbacks = value(R"(dbkeeper_transactions_total{target="billing",result="rollback"})");
  auto calls = value(R"(dbkeeper_statements_total{target="billing",kind="all"})");
  ASSERT_TRUE(rollbacks && calls) << exposition(*m_collector);
  {
    auto session = PostgresConnection::connect(servers().postgres.user_options());
    for (int i = 0; i < 3; ++i) {
      session.execute("BEGIN");
      session.execute("SELECT 1");
      session.execute("ROLLBACK");
    }
    for (int i = 0; i < 20; ++i) session.query("SELECT " + std::to_string(i));
  }
  EXPECT_TRUE(eventually(
      [&] {
        m_collector->refresh();
        return *value(R"(dbkeeper_transactions_total{target="billing",result="rollback"})") >= *rollbacks + 3 &&
               *value(R"(dbkeeper_statements_total{target="billing",kind="all"})") >= *calls + 20;
      },
      5s))
      << exposition(*m_collector);
}

TEST_F(PostgresCollectorTest, an_unused_index_is_counted_until_a_scan_uses_it_and_large_tables_are_listed) {
  create_postgres_fixture("collector_indexes");
  {
    auto admin = servers().postgres.admin("collector_indexes");
    admin.execute("CREATE TABLE events (id int PRIMARY KEY, kind text, body text)");
    admin.execute("INSERT INTO events SELECT g, 'kind ' || (g % 7), repeat('x', 300) FROM generate_series(1, 20000) g");
    admin.execute("CREATE INDEX events_kind ON events (kind)");
    admin.execute("ANALYZE events");
  }
  m_target.databases = {"postgres", "collector_indexes"};
  m_target.queries.top_tables = 2;
  CollectorSettings settings;
  settings.timeout = 5s;
  auto collector = make_postgres_collector(CollectorContext{&m_target, {}, nullptr, settings, {}});
  std::string unused = R"(dbkeeper_unused_indexes{target="billing",database="collector_indexes"})";
  collector->refresh();
  auto text = exposition(*collector);
  auto before = sample_value(text, unused);
  ASSERT_TRUE(before.has_value()) << text;
  EXPECT_GE(*before, 1);
  EXPECT_GT(*sample_value(text, R"(dbkeeper_unused_index_size_bytes{target="billing",database="collector_indexes"})"),
            0);
  // The largest table is listed, and no more tables than asked for.
  EXPECT_TRUE(sample_value(
      text,
      R"(dbkeeper_table_size_bytes{target="billing",database="collector_indexes",table="public.events",part="data"})"))
      << text;
  std::size_t listed = 0;
  for (std::size_t at = 0;
       (at = text.find("dbkeeper_table_rows_estimate{target=\"billing\",database=\"collector_indexes\"", at)) !=
       std::string::npos;
       ++at)
    ++listed;
  EXPECT_EQ(listed, 2u) << text;
  {
    auto reader = servers().postgres.admin("collector_indexes");
    reader.execute("SET enable_seqscan = off");
    reader.query("SELECT count(*) FROM events WHERE kind = 'kind 3'");
  }
  EXPECT_TRUE(eventually(
      [&] {
        collector->refresh();
        return sample_value(exposition(*collector), unused) == *before - 1;
      },
      5s))
      << exposition(*collector);
  EXPECT_GT(*sample_value(exposition(*collector),
                          R"(dbkeeper_index_scan_ratio{target="billing",database="collector_indexes"})"),
            0);
}

TEST_F(PostgresCollectorTest, a_session_sleeping_in_a_transaction_is_idle_in_transaction) {
  m_collector->refresh();
  auto before = value(R"(dbkeeper_connections{target="billing",state="idle_in_transaction"})");
  ASSERT_TRUE(before.has_value()) << exposition(*m_collector);
  EXPECT_TRUE(value(R"(dbkeeper_connections{target="billing",state="other"})").has_value());
  auto session = servers().postgres.admin();
  session.execute("BEGIN");
  session.execute("SELECT 1");
  m_collector->refresh();
  EXPECT_EQ(value(R"(dbkeeper_connections{target="billing",state="idle_in_transaction"})"), *before + 1)
      << exposition(*m_collector);
  session.execute("COMMIT");
}

TEST_F(PostgresCollectorTest, a_long_statement_is_seen_while_it_runs) {
  m_collector->refresh();
  EXPECT_EQ(value(R"(dbkeeper_long_running_queries{target="billing"})"), 0);
  std::thread sleeper(
      [] { PostgresConnection::connect(servers().postgres.user_options()).query("SELECT pg_sleep(2)"); });
  std::this_thread::sleep_for(800ms);
  m_collector->refresh();
  auto during = value(R"(dbkeeper_long_running_queries{target="billing"})");
  sleeper.join();
  EXPECT_EQ(during, 1);
}

TEST_F(PostgresCollectorTest, exports_sizes_connections_and_xid_age) {
  m_collector->refresh();
  auto text = exposition(*m_collector);
  EXPECT_GT(*sample_value(text, R"(dbkeeper_database_size_bytes{target="billing",database="postgres"})"), 0) << text;
  EXPECT_GE(*sample_value(text, R"(dbkeeper_connections{target="billing",state="active"})"), 1);
  EXPECT_GT(*sample_value(text, R"(dbkeeper_postgres_oldest_xid_age{target="billing"})"), 0);
  // A primary has no replica lag series.
  EXPECT_FALSE(sample_value(text, R"(dbkeeper_postgres_replica_lag_seconds{target="billing"})").has_value());
}

TEST_F(PostgresCollectorTest, without_pg_stat_statements_the_rest_is_exported) {
  create_postgres_fixture("no_statements");
  Target target = postgres_target({"no_statements"});
  auto collector = make_postgres_collector(CollectorContext{&target, {}, nullptr, {}, {}});
  collector->refresh();
  auto text = exposition(*collector);
  EXPECT_FALSE(sample_value(text, R"(dbkeeper_slow_queries_total{target="billing"})").has_value());
  EXPECT_TRUE(sample_value(text, R"(dbkeeper_long_running_queries{target="billing"})").has_value()) << text;
}

TEST(postgres_collector, declines_other_engines) {
  Target target;
  target.engine = "mariadb";
  EXPECT_EQ(make_postgres_collector(CollectorContext{&target, {}, nullptr, {}, {}}), nullptr);
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

// pg_stat_statements keeps one row per queryid, user and database: the same
// statement run by two users must still be one series.
TEST(postgres_collector, a_statement_run_by_two_users_is_one_series) {
  Target target = postgres_target({"postgres"});
  target.queries.top_n = 100;
  CollectorSettings settings;
  auto collector = make_postgres_collector(CollectorContext{&target, {}, nullptr, settings, {}});
  auto user = PostgresConnection::connect(servers().postgres.user_options());
  auto admin = servers().postgres.admin();
  for (auto* session : {&user, &admin})
    for (int i = 0; i < 3; ++i) session->query("SELECT count(*) FROM pg_class WHERE relpages > " + std::to_string(i));
  collector->refresh();
  std::map<std::string, int> seen;
  std::istringstream lines(exposition(*collector));
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("dbkeeper_statement_mean_seconds{")) ++seen[line.substr(0, line.find('}') + 1)];
  ASSERT_FALSE(seen.empty());
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << name;
}

}  // namespace
}  // namespace dbkeeper
