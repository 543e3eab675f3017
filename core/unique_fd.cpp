#include "core/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>

#include "core/error.h"

namespace dbkeeper {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
}

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_system_error("unable to create pipe", errno);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void write_all(int fd, const void* data, std::size_t size, const char* what) {
  auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t written = ::write(fd, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw_system_error(std::string("unable to write ") + what, errno);
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

}  // namespace dbkeeper
