#include "tests/support/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"
#include "core/unique_fd.h"

namespace dbkeeper::testing {

HttpResponse http_get(unsigned port, const std::string& path, std::chrono::milliseconds timeout) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_system_error("socket", errno);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw_system_error("connect to 127.0.0.1:" + std::to_string(port), errno);
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  write_all(fd.get(), request.data(), request.size(), "http request");
  std::string response;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error("read from 127.0.0.1:" + std::to_string(port), errno);
    if (n == 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
  }
  HttpResponse result;
  auto header_end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/", 0) != 0 || header_end == std::string::npos)
    throw Error(ErrorKind::io, "malformed HTTP response from port " + std::to_string(port));
  result.status = std::stoi(response.substr(response.find(' ') + 1, 3));
  std::string headers = response.substr(0, header_end);
  auto type = headers.find("Content-Type: ");
  if (type != std::string::npos)
    result.content_type = headers.substr(type + 14, headers.find("\r\n", type) - type - 14);
  result.body = response.substr(header_end + 4);
  return result;
}

}  // namespace dbkeeper::testing
