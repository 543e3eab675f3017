#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "core/error.h"

namespace dbkeeper::testing {
namespace {

UniqueFd connect_loopback(unsigned port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
  return fd;
}

// Reads the request's head and its Content-Length body.
std::string read_request(int fd) {
  std::string request;
  char buffer[65536];
  std::size_t head_end = std::string::npos;
  std::size_t wanted = 0;
  while (true) {
    if (head_end != std::string::npos && request.size() >= head_end + 4 + wanted) return request;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 10000) <= 0) return request;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return request;
    request.append(buffer, static_cast<std::size_t>(n));
    if (head_end == std::string::npos && (head_end = request.find("\r\n\r\n")) != std::string::npos) {
      std::string head = request.substr(0, head_end);
      for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto at = head.find("content-length:");
      if (at != std::string::npos) wanted = std::stoull(head.substr(at + 15));
    }
  }
}

void write_all_to(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

FaultProxy::FaultProxy(unsigned upstream_port) : m_upstream_port(upstream_port) {
  m_listener = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(m_listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(m_listener.get(), 64) != 0)
    throw_system_error("unable to listen for the fault proxy", errno);
  socklen_t length = sizeof address;
  ::getsockname(m_listener.get(), reinterpret_cast<sockaddr*>(&address), &length);
  m_port = ntohs(address.sin_port);
  m_acceptor = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  m_stopping = true;
  ::shutdown(m_listener.get(), SHUT_RDWR);
  m_acceptor.join();
  for (auto& connection : m_connections) connection.join();
}

void FaultProxy::inject(Fault fault, int count, std::size_t after) {
  std::lock_guard lock(m_mutex);
  for (int i = 0; i < count; ++i) m_plans.push_back({fault, after});
}

void FaultProxy::accept_loop() {
  while (!m_stopping) {
    pollfd pfd{m_listener.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;
    UniqueFd client(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    std::optional<Plan> plan;
    {
      std::lock_guard lock(m_mutex);
      if (!m_plans.empty()) {
        plan = m_plans.front();
        m_plans.pop_front();
      }
    }
    m_connections.emplace_back(
        [this, fd = std::make_shared<UniqueFd>(std::move(client)), plan]() mutable { serve(std::move(*fd), plan); });
  }
}

void FaultProxy::serve(UniqueFd client, std::optional<Plan> plan) {
  if (plan && plan->fault != Fault::cut_answer) {
    read_request(client.get());
    ++m_served;
    if (plan->fault == Fault::unavailable) {
      std::string body = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>";
      write_all_to(client.get(),
                   "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    }
    return;  // drop_before_answer: close without a word
  }
  UniqueFd upstream = connect_loopback(m_upstream_port);
  if (!upstream) return;
  if (plan) ++m_served;
  std::size_t answered = 0;
  char buffer[65536];
  pollfd fds[2] = {{client.get(), POLLIN, 0}, {upstream.get(), POLLIN, 0}};
  while (!m_stopping) {
    if (::poll(fds, 2, 30000) <= 0) return;
    for (int side = 0; side < 2; ++side) {
      if (!(fds[side].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[side].fd, buffer, sizeof buffer);
      if (n <= 0) return;
      std::string_view data(buffer, static_cast<std::size_t>(n));
      if (side == 1 && plan) {
        // Pass `after` bytes of the answer, then hang up.
        auto room = plan->after > answered ? plan->after - answered : 0;
        write_all_to(client.get(), data.substr(0, std::min(room, data.size())));
        answered += data.size();
        if (answered >= plan->after) return;
        continue;
      }
      write_all_to(fds[1 - side].fd, data);
    }
  }
}

}  // namespace dbkeeper::testing
