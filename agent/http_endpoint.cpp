#include "agent/http_endpoint.h"

#include <CivetServer.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "collectors/metric_family_builder.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

// civetweb reports why it could not start only through this callback, which
// has no user pointer at start-up time; the constructor reads it right after.
thread_local std::string t_startup_error;

int record_log_message(const mg_connection* connection, const char* message) {
  if (connection == nullptr) t_startup_error = message;
  spdlog::debug("civetweb: {}", message);
  return 1;
}

void send(mg_connection* connection, int status, std::string_view content_type, std::string_view body) {
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n",
            status, mg_get_response_code_text(connection, status), static_cast<int>(content_type.size()),
            content_type.data(), body.size());
  mg_write(connection, body.data(), body.size());
}

class MetricsHandler final : public CivetHandler {
 public:
  explicit MetricsHandler(std::vector<std::shared_ptr<prometheus::Collectable>> collectables)
      : m_collectables(std::move(collectables)) {}

  bool handleGet(CivetServer*, mg_connection* connection) override {
    // Nothing may escape a civetweb callback: a failing collectable becomes
    // a 500 with its message, the server stays up.
    try {
      std::vector<prometheus::MetricFamily> families;
      for (const auto& collectable : m_collectables) merge_families(families, collectable->Collect());
      std::ostringstream body;
      prometheus::TextSerializer().Serialize(body, families);
      send(connection, 200, "text/plain; version=0.0.4; charset=utf-8", body.str());
    } catch (const std::exception& e) {
      spdlog::error("rendering /metrics failed: {}", e.what());
      send(connection, 500, "text/plain; charset=utf-8", std::string("rendering metrics failed: ") + e.what() + "\n");
    }
    return true;
  }

 private:
  std::vector<std::shared_ptr<prometheus::Collectable>> m_collectables;
};

class HealthHandler final : public CivetHandler {
 public:
  bool handleGet(CivetServer*, mg_connection* connection) override {
    send(connection, 200, "text/plain; charset=utf-8", "ok\n");
    return true;
  }
};

class IndexHandler final : public CivetHandler {
 public:
  bool handleGet(CivetServer*, mg_connection* connection) override {
    const mg_request_info* request = mg_get_request_info(connection);
    if (request && request->local_uri && std::string_view(request->local_uri) != "/") {
      send(connection, 404, "text/plain; charset=utf-8", "not found\n");
      return true;
    }
    send(connection, 200, "text/html; charset=utf-8",
         "<html><head><title>dbkeeper</title></head><body><h1>dbkeeper</h1>"
         "<p><a href=\"/metrics\">Metrics</a></p><p><a href=\"/healthz\">Health</a></p></body></html>\n");
    return true;
  }
};

}  // namespace

struct HttpEndpoint::Server {
  MetricsHandler metrics;
  HealthHandler health;
  IndexHandler index;
  std::unique_ptr<CivetServer> civet;

  explicit Server(std::vector<std::shared_ptr<prometheus::Collectable>> collectables)
      : metrics(std::move(collectables)) {}
};

HttpEndpoint::HttpEndpoint(const std::string& listen_address,
                           std::vector<std::shared_ptr<prometheus::Collectable>> collectables)
    : m_server(std::make_unique<Server>(std::move(collectables))) {
  std::vector<std::string> options{
      "listening_ports",
      listen_address,
      // civetweb gives each connection a worker until it closes: idle or
      // slowly dribbling clients must not take them all and stall a
      // scrape past Prometheus' timeout. Workers are cheap (a mostly
      // untouched stack each); a request that does not arrive within the
      // read timeout is dropped.
      "num_threads",
      "128",
      "request_timeout_ms",
      "3000",
      "enable_keep_alive",
      "no",
  };
  CivetCallbacks callbacks;
  callbacks.log_message = &record_log_message;
  t_startup_error.clear();
  try {
    m_server->civet = std::make_unique<CivetServer>(options, &callbacks);
  } catch (const CivetException& e) {
    std::string why = t_startup_error.empty() ? e.what() : t_startup_error;
    throw Error(ErrorKind::io, "unable to listen on " + listen_address + ": " + why);
  }
  m_server->civet->addHandler("/metrics", m_server->metrics);
  m_server->civet->addHandler("/healthz", m_server->health);
  m_server->civet->addHandler("/", m_server->index);
}

HttpEndpoint::~HttpEndpoint() {
  if (m_server && m_server->civet) m_server->civet->close();
}

std::vector<int> HttpEndpoint::listening_ports() const {
  return m_server->civet->getListeningPorts();
}

}  // namespace dbkeeper
