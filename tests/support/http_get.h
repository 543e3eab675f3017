#pragma once
// A minimal HTTP/1.0 GET over loopback, for scraping the agent in tests.

#include <chrono>
#include <string>

namespace dbkeeper::testing {

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Throws Error{io} when the connection fails or times out.
HttpResponse http_get(unsigned port, const std::string& path,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace dbkeeper::testing
