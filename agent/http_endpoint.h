#pragma once
// The HTTP side of the daemon: /metrics (Prometheus text format), /healthz
// and a small index page, on civetweb. We drive civetweb ourselves rather
// than through prometheus::Exposer because the Exposer cannot serve
// /healthz; rendering still goes through prometheus-cpp's TextSerializer.

#include <prometheus/collectable.h>

#include <memory>
#include <string>
#include <vector>

namespace dbkeeper {

class HttpEndpoint {
 public:
  // Listens on "host:port" ("[v6]:port"); port 0 picks a free port.
  // Throws Error{io} naming the address when it cannot listen.
  HttpEndpoint(const std::string& listen_address, std::vector<std::shared_ptr<prometheus::Collectable>> collectables);
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  // The ports actually bound (useful with port 0).
  std::vector<int> listening_ports() const;

 private:
  struct Server;
  std::unique_ptr<Server> m_server;
};

}  // namespace dbkeeper
