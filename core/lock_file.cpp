#include "core/lock_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/error.h"

namespace dbkeeper {

std::optional<LockFile> LockFile::try_acquire(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) throw_system_error("unable to open lock file '" + path.string() + "'", errno);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
    if (errno == EAGAIN || errno == EACCES) return std::nullopt;
    throw_system_error("unable to lock '" + path.string() + "'", errno);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) (void)::pwrite(fd.get(), pid.data(), pid.size(), 0);
  return LockFile(std::move(fd));
}

std::optional<pid_t> LockFile::holder(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_GETLK, &lock) != 0 || lock.l_type == F_UNLCK) return std::nullopt;
  char buffer[32] = {};
  ssize_t n = ::pread(fd.get(), buffer, sizeof buffer - 1, 0);
  return n > 0 ? static_cast<pid_t>(std::atoi(buffer)) : 0;
}

}  // namespace dbkeeper
