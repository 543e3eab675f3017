#pragma once
// A loopback TCP proxy in front of a test server that misbehaves on
// request: answers 503, drops the connection before answering, or cuts a
// response short after some bytes. Each connection carries one request
// (the S3 client opens one per request), and faults apply to the next
// connections in order.

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/unique_fd.h"

namespace dbkeeper::testing {

enum class Fault { unavailable, drop_before_answer, cut_answer };

class FaultProxy {
 public:
  explicit FaultProxy(unsigned upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  unsigned port() const { return m_port; }
  // The next `count` connections get `fault`; cut_answer passes `after`
  // bytes of the answer, then closes.
  void inject(Fault fault, int count, std::size_t after = 0);
  int faults_served() const { return m_served; }

 private:
  struct Plan {
    Fault fault;
    std::size_t after;
  };
  void accept_loop();
  void serve(UniqueFd client, std::optional<Plan> plan);

  unsigned m_upstream_port;
  unsigned m_port = 0;
  UniqueFd m_listener;
  std::atomic<bool> m_stopping{false};
  std::atomic<int> m_served{0};
  std::mutex m_mutex;
  std::deque<Plan> m_plans;
  std::vector<std::thread> m_connections;
  std::thread m_acceptor;
};

}  // namespace dbkeeper::testing
