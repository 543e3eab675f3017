// End to end: real MariaDB and PostgreSQL, dbkeeper, Prometheus (scraping
// every second, loading the shipped rules with test-sized `for:`) and
// Alertmanager (routing to a webhook this test serves on loopback). A target
// that is down and a backup that fails must reach the webhook as alerts with
// the right labels, and every PromQL expression of both dashboards must
// return data from that Prometheus.

#include <CivetServer.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/child_process.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/http_get.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using nlohmann::json;

class WebhookReceiver final : public CivetHandler {
 public:
  bool handlePost(CivetServer*, mg_connection* connection) override {
    std::string body;
    char buffer[4096];
    for (int n; (n = mg_read(connection, buffer, sizeof buffer)) > 0;) body.append(buffer, static_cast<std::size_t>(n));
    {
      std::lock_guard lock(m_mutex);
      m_bodies.push_back(body);
    }
    mg_printf(connection, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return true;
  }
  // The labels of every firing alert received so far.
  std::vector<json> firing() const {
    std::lock_guard lock(m_mutex);
    std::vector<json> alerts;
    for (const auto& body : m_bodies) {
      auto message = json::parse(body, nullptr, false);
      if (message.is_discarded()) continue;
      for (const auto& alert : message.value("alerts", json::array()))
        if (alert.value("status", "") == "firing") alerts.push_back(alert["labels"]);
    }
    return alerts;
  }

 private:
  mutable std::mutex m_mutex;
  std::vector<std::string> m_bodies;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string url_encode(const std::string& text) {
  std::string encoded;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      encoded += hex;
    }
  }
  return encoded;
}

bool has_alert(const std::vector<json>& alerts, const std::string& name, const std::string& target,
               const std::string& severity) {
  for (const auto& labels : alerts)
    if (labels.value("alertname", "") == name && labels.value("target", "") == target &&
        labels.value("severity", "") == severity && labels.value("job", "") == "dbkeeper")
      return true;
  return false;
}

TEST(alerting_e2e, alerts_reach_the_webhook_and_dashboards_have_data) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  create_mariadb_fixture("e2e_shop");
  auto password = dir.path() / "password";
  std::ofstream(password) << k_test_password << "\n";
  ::chmod(password.c_str(), 0600);
  std::filesystem::create_directories(dir.path() / "migrations");
  std::ofstream(dir.path() / "migrations" / "2024_01_01_000000_create_users.php") << "<?php\n";

  // The webhook Alertmanager posts to.
  WebhookReceiver receiver;
  unsigned webhook_port = free_loopback_port();
  CivetServer webhook(std::vector<std::string>{"listening_ports", "127.0.0.1:" + std::to_string(webhook_port)});
  webhook.addHandler("/alerts", receiver);

  // dbkeeper: a healthy MariaDB target with backups, verification, a
  // continuous binlog archive and a migration, a PostgreSQL target, one that is down, one whose backups fail.
  unsigned agent_port = free_loopback_port();
  auto target = [&](const std::string& name, const std::string& engine, unsigned port, const std::string& rest) {
    return "[[target]]\nname = \"" + name + "\"\nengine = \"" + engine + "\"\nport = " + std::to_string(port) +
           "\nuser = \"" + k_test_user + "\"\npassword_file = \"" + password.string() + "\"\n" + rest;
  };
  std::ofstream(dir.path() / "dbkeeper.toml")
      << "[agent]\nlisten_address = \"127.0.0.1:" << agent_port << "\"\nrepository = \""
      << (dir.path() / "repository").string() << "\"\n[collectors.up]\ninterval = \"1s\"\n"
      << "[collectors.backup]\ninterval = \"1s\"\n[collectors.mysql]\ninterval = \"1s\"\n"
      << "[collectors.postgres]\ninterval = \"1s\"\n[collectors.migrations]\ninterval = \"2s\"\n"
      << "[collectors.copies]\ninterval = \"1s\"\n"
      << "[[repository]]\nname = \"second\"\ndriver = \"posix\"\npath = \"" << (dir.path() / "second").string()
      << "\"\n"
      << target("shop", "mariadb", servers().mariadb.port(),
                "databases = [\"e2e_shop\"]\nrepositories = [\"local\", \"second\"]\n[target.schedule]\nfull = \"0 3 * "
                "* *\"\nverify = \"0 4 * * *\"\n"
                "log = \"continuous\"\n[target.backup]\nlog_archive_interval = \"1s\"\n"
                "[[target.migrations]]\ndatabase = \"e2e_shop\"\nframework = \"laravel\"\npath = \"" +
                    (dir.path() / "migrations").string() + "\"\n")
      << target("billing", "postgres", servers().postgres.port(), "databases = [\"postgres\"]\n")
      << target("ghost", "mariadb", free_loopback_port(), "")
      << target("broken", "mariadb", servers().mariadb.port(),
                "databases = [\"no_such_database\"]\n[target.schedule]\nfull = \"0 3 * * *\"\n");
  AgentProcess agent(dir.path() / "dbkeeper.toml", agent_port);

  // Alertmanager: everything to the webhook, at once.
  unsigned alertmanager_port = free_loopback_port();
  std::ofstream(dir.path() / "alertmanager.yml")
      << "route:\n  receiver: webhook\n  group_by: ['alertname', 'target']\n  group_wait: 1s\n"
      << "  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: webhook\n    webhook_configs:\n"
      << "      - url: 'http://127.0.0.1:" << webhook_port << "/alerts'\n";
  auto alertmanager = ChildProcess::start(ProcessSpec{
      .argv = {find_program("prometheus-alertmanager").string(),
               "--config.file=" + (dir.path() / "alertmanager.yml").string(),
               "--storage.path=" + (dir.path() / "alertmanager").string(),
               "--web.listen-address=127.0.0.1:" + std::to_string(alertmanager_port), "--cluster.listen-address="},
      .stdout_to = ProcessOutput::to_file(dir.path() / "alertmanager.log"),
      .stderr_to = ProcessOutput::to_file(dir.path() / "alertmanager.log")});

  // Prometheus with the shipped rules, every `for:` shortened to 3s.
  std::string rules = read_file(std::filesystem::path(DBKEEPER_SOURCE_DIR) / "alerts" / "dbkeeper.rules.yml");
  rules = std::regex_replace(rules, std::regex(R"(for: \S+)"), "for: 3s");
  std::ofstream(dir.path() / "rules.yml") << rules;
  unsigned prometheus_port = free_loopback_port();
  std::ofstream(dir.path() / "prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - "
      << (dir.path() / "rules.yml").string()
      << "\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:" << alertmanager_port
      << "']\nscrape_configs:\n  - job_name: dbkeeper\n    static_configs:\n      - targets: ['127.0.0.1:" << agent_port
      << "']\n";
  auto prometheus = ChildProcess::start(ProcessSpec{
      .argv = {find_program("prometheus").string(), "--config.file=" + (dir.path() / "prometheus.yml").string(),
               "--storage.tsdb.path=" + (dir.path() / "tsdb").string(),
               "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
      .stdout_to = ProcessOutput::to_file(dir.path() / "prometheus.log"),
      .stderr_to = ProcessOutput::to_file(dir.path() / "prometheus.log")});

  auto alerts_arrived = [&] {
    auto alerts = receiver.firing();
    return has_alert(alerts, "DatabaseDown", "ghost", "page") && has_alert(alerts, "BackupFailing", "broken", "page");
  };
  EXPECT_TRUE(eventually(alerts_arrived, 90s))
      << "received: " << json(receiver.firing()).dump() << "\nprometheus:\n"
      << read_file(dir.path() / "prometheus.log").substr(0, 3000) << "\nagent:\n"
      << agent.log();
  // A healthy target raises no DatabaseDown.
  EXPECT_FALSE(has_alert(receiver.firing(), "DatabaseDown", "shop", "page"));

  // Every dashboard expression returns data (template variables filled in).
  for (const char* name : {"dbkeeper-backups.json", "dbkeeper-databases.json"}) {
    auto dashboard =
        json::parse(read_file(std::filesystem::path(DBKEEPER_SOURCE_DIR) / "grafana" / "dashboards" / name));
    for (const auto& panel : dashboard["panels"]) {
      for (const auto& query : panel["targets"]) {
        std::string expr =
            std::regex_replace(query["expr"].get<std::string>(), std::regex(R"(\$(target|repository|instance))"), ".*");
        bool has_data = eventually(
            [&] {
              try {
                auto response = http_get(prometheus_port, "/api/v1/query?query=" + url_encode(expr));
                auto result = json::parse(response.body);
                return result["status"] == "success" && !result["data"]["result"].empty();
              } catch (const std::exception&) {
                return false;
              }
            },
            30s);
        EXPECT_TRUE(has_data) << name << " panel '" << panel["title"].get<std::string>() << "': " << expr;
      }
    }
  }
  prometheus.terminate(10s, SIGTERM);
  alertmanager.terminate(10s, SIGTERM);
}

}  // namespace
}  // namespace dbkeeper
