#pragma once
// An exclusive lock on a file (open file description locks, F_OFD_SETLK):
// released when the owner is destroyed or the process dies, so a SIGKILLed
// run never leaves a stale lock behind. The holder's pid is written into the
// file for error messages.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "core/unique_fd.h"

namespace dbkeeper {

struct LockHolder {
  pid_t pid = 0;     // 0 when unknown
  std::string note;  // what the holder said it is doing
};

class LockFile {
 public:
  // Takes the lock without waiting; nullopt when another process holds it.
  // `note` is written beside the pid for whoever asks holder().
  static std::optional<LockFile> try_acquire(const std::filesystem::path& path, const std::string& note = "");
  // A shared lock: any number of holders together, none while an exclusive
  // holder has it (and the reverse). Nothing is written into the file.
  static std::optional<LockFile> try_acquire_shared(const std::filesystem::path& path);
  // Who holds the lock now, without taking it; nullopt when nobody does.
  static std::optional<LockHolder> holder(const std::filesystem::path& path);

  LockFile(LockFile&&) noexcept = default;
  LockFile& operator=(LockFile&&) noexcept = default;

 private:
  explicit LockFile(UniqueFd fd) : m_fd(std::move(fd)) {}
  UniqueFd m_fd;
};

}  // namespace dbkeeper
