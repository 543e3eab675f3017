#include "core/private_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "core/error.h"
#include "core/unique_fd.h"

namespace dbkeeper {

PrivateFile::PrivateFile(std::filesystem::path path, std::string_view content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw_system_error("unable to create private file '" + path.string() + "'", errno);
  m_path = std::move(path);
  // O_CREAT honours the umask, which can only remove bits: 0600 is exact.
  try {
    write_all(fd.get(), content.data(), content.size(), m_path.c_str());
  } catch (...) {
    ::unlink(m_path.c_str());
    throw;
  }
}

PrivateFile::PrivateFile(PrivateFile&& other) noexcept : m_path(std::exchange(other.m_path, {})) {}

PrivateFile& PrivateFile::operator=(PrivateFile&& other) noexcept {
  if (this != &other) {
    PrivateFile doomed(std::move(*this));
    m_path = std::exchange(other.m_path, {});
  }
  return *this;
}

PrivateFile::~PrivateFile() {
  if (!m_path.empty()) ::unlink(m_path.c_str());
}

}  // namespace dbkeeper
