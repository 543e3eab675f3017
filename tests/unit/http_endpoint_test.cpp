#include "agent/http_endpoint.h"

#include <gtest/gtest.h>

#include <sstream>

#include "agent/config.h"
#include "collectors/collector_runner.h"
#include "core/error.h"
#include "tests/support/agent_process.h"
#include "tests/support/http_get.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using testing::http_get;
using testing::sample_value;

// A target nobody listens on: the up collector fails for real.
Target unreachable_target() {
  Target target;
  target.name = "nowhere";
  target.engine = "mariadb";
  target.host = "127.0.0.1";
  target.port = testing::free_loopback_port();
  target.user = "u";
  target.connect_timeout = 1s;
  return target;
}

class HttpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_targets.push_back(unreachable_target());
    CollectorPlan plan;
    plan.build = BuildIdentity{"1.2.3", "abc123"};
    m_runner = std::make_shared<CollectorRunner>(m_targets, plan);
    m_runner->refresh_all();
    m_endpoint =
        std::make_unique<HttpEndpoint>("127.0.0.1:0", std::vector<std::shared_ptr<prometheus::Collectable>>{m_runner});
    m_port = static_cast<unsigned>(m_endpoint->listening_ports().at(0));
  }

  std::vector<Target> m_targets;
  std::shared_ptr<CollectorRunner> m_runner;
  std::unique_ptr<HttpEndpoint> m_endpoint;
  unsigned m_port = 0;
};

TEST_F(HttpEndpointTest, serves_metrics_in_the_text_format) {
  auto response = http_get(m_port, "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(sample_value(response.body, R"(dbkeeper_build_info{version="1.2.3",revision="abc123"})"), 1);
  EXPECT_NE(response.body.find("# TYPE dbkeeper_up gauge"), std::string::npos);
}

TEST_F(HttpEndpointTest, a_failing_collector_reads_zero_and_the_scrape_still_succeeds) {
  auto body = http_get(m_port, "/metrics").body;
  EXPECT_EQ(sample_value(body, R"(dbkeeper_up{target="nowhere"})"), 0);
  EXPECT_EQ(sample_value(body, R"(dbkeeper_collector_success{collector="up",target="nowhere"})"), 0);
  EXPECT_EQ(sample_value(body, R"(dbkeeper_collector_success{collector="build_info"})"), 1);
  EXPECT_TRUE(
      sample_value(body, R"(dbkeeper_collector_duration_seconds{collector="up",target="nowhere"})").has_value());
}

TEST_F(HttpEndpointTest, every_family_appears_once) {
  auto body = http_get(m_port, "/metrics").body;
  std::size_t count = 0;
  for (std::size_t at = 0; (at = body.find("# TYPE dbkeeper_collector_success ", at)) != std::string::npos; ++at)
    ++count;
  EXPECT_EQ(count, 1u);
}

TEST_F(HttpEndpointTest, serves_health_and_an_index) {
  auto health = http_get(m_port, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  auto index = http_get(m_port, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("href=\"/metrics\""), std::string::npos);
  EXPECT_EQ(http_get(m_port, "/nope").status, 404);
}

TEST(HttpEndpoint, names_the_address_it_cannot_listen_on) {
  HttpEndpoint first("127.0.0.1:0", {});
  auto port = std::to_string(first.listening_ports().at(0));
  try {
    HttpEndpoint second("127.0.0.1:" + port, {});
    FAIL() << "two endpoints on one port";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unable to listen on 127.0.0.1:" + port), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

TEST(process_collector, reports_this_process) {
  std::vector<Target> targets;
  CollectorPlan plan;
  CollectorRunner runner(targets, plan);
  runner.refresh_all();
  std::ostringstream text;
  for (const auto& family : runner.Collect()) {
    if (family.name.rfind("process_", 0) != 0) continue;
    text << family.name << " " << std::fixed << family.metric.at(0).gauge.value + family.metric.at(0).counter.value
         << "\n";
  }
  auto body = text.str();
  auto resident = testing::sample_value(body, "process_resident_memory_bytes");
  ASSERT_TRUE(resident.has_value()) << body;
  EXPECT_GT(*resident, 1024 * 1024);
  EXPECT_GT(*testing::sample_value(body, "process_open_fds"), 2);
  auto started = *testing::sample_value(body, "process_start_time_seconds");
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LT(started, now + 1);
  EXPECT_GT(started, now - 3600);
}

}  // namespace
}  // namespace dbkeeper
