#include "backup/pipeline/file_sink.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "core/error.h"
#include "core/stop_request.h"

namespace dbkeeper {

namespace {
constexpr std::size_t k_chunk_size = 256 * 1024;
}

FileSink::FileSink(std::filesystem::path path) : m_path(std::move(path)) {
  m_fd = UniqueFd(::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!m_fd) throw_system_error("unable to create '" + m_path.string() + "'", errno);
}

void FileSink::write(std::span<const std::byte> data) {
  write_all(m_fd.get(), data.data(), data.size(), m_path.c_str());
  m_bytes += data.size();
}

void FileSink::finish() {
  if (::fsync(m_fd.get()) != 0) throw_system_error("unable to fsync '" + m_path.string() + "'", errno);
  if (::close(m_fd.release()) != 0) throw_system_error("unable to close '" + m_path.string() + "'", errno);
}

void pump(int fd, ByteSink& sink, const char* what) {
  std::vector<std::byte> buffer(k_chunk_size);
  pollfd pfd{fd, POLLIN, 0};
  for (;;) {
    if (stop_requested()) throw Error(ErrorKind::process, std::string("interrupted while reading ") + what);
    int ready = ::poll(&pfd, 1, 250);
    if (ready < 0 && errno != EINTR) throw_system_error(std::string("unable to poll ") + what, errno);
    if (ready <= 0) continue;
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_system_error(std::string("unable to read ") + what, errno);
    }
    if (n == 0) break;
    sink.write({buffer.data(), static_cast<std::size_t>(n)});
  }
  sink.finish();
}

void pump_file(const std::filesystem::path& path, ByteSink& sink) {
  // Artifacts are read only as themselves: a symbolic link put in their
  // place (pointing out of the repository) is refused, never followed.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd && errno == ELOOP)
    throw Error(ErrorKind::integrity, "'" + path.string() + "' is a symbolic link; refused as tampering");
  if (!fd) throw_system_error("unable to open '" + path.string() + "' for read", errno);
  pump(fd.get(), sink, path.c_str());
}

}  // namespace dbkeeper
