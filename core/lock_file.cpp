#include "core/lock_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/error.h"

namespace dbkeeper {

std::optional<LockFile> LockFile::try_acquire(const std::filesystem::path& path, const std::string& note) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) throw_system_error("unable to open lock file '" + path.string() + "'", errno);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
    if (errno == EAGAIN || errno == EACCES) return std::nullopt;
    throw_system_error("unable to lock '" + path.string() + "'", errno);
  }
  std::string pid = std::to_string(::getpid()) + " " + note + "\n";
  if (::ftruncate(fd.get(), 0) == 0) (void)::pwrite(fd.get(), pid.data(), pid.size(), 0);
  return LockFile(std::move(fd));
}

std::optional<LockFile> LockFile::try_acquire_shared(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) throw_system_error("unable to open lock file '" + path.string() + "'", errno);
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
    if (errno == EAGAIN || errno == EACCES) return std::nullopt;
    throw_system_error("unable to lock '" + path.string() + "'", errno);
  }
  return LockFile(std::move(fd));
}

std::optional<LockHolder> LockFile::holder(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_GETLK, &lock) != 0 || lock.l_type == F_UNLCK) return std::nullopt;
  char buffer[256] = {};
  ssize_t n = ::pread(fd.get(), buffer, sizeof buffer - 1, 0);
  LockHolder holder;
  if (n > 0) {
    std::string text(buffer, static_cast<std::size_t>(n));
    holder.pid = static_cast<pid_t>(std::atoi(text.c_str()));
    auto space = text.find(' ');
    if (space != std::string::npos) holder.note = text.substr(space + 1, text.find('\n') - space - 1);
  }
  return holder;
}

}  // namespace dbkeeper
