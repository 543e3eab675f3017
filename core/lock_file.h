#pragma once
// An exclusive lock on a file (open file description locks, F_OFD_SETLK):
// released when the owner is destroyed or the process dies, so a SIGKILLed
// run never leaves a stale lock behind. The holder's pid is written into the
// file for error messages.

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "core/unique_fd.h"

namespace dbkeeper {

class LockFile {
public:
  // Takes the lock without waiting; nullopt when another process holds it.
  static std::optional<LockFile> try_acquire(const std::filesystem::path& path);
  // Whether someone holds the lock now (does not take it); returns the pid
  // written by the holder when known.
  static std::optional<pid_t> holder(const std::filesystem::path& path);

  LockFile(LockFile&&) noexcept = default;
  LockFile& operator=(LockFile&&) noexcept = default;

private:
  explicit LockFile(UniqueFd fd) : m_fd(std::move(fd)) {}
  UniqueFd m_fd;
};

}  // namespace dbkeeper
