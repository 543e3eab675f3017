#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/error.h"
#include "core/unique_fd.h"

namespace dbkeeper {

void sync_directory(const std::filesystem::path& directory) {
  UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_system_error("unable to open directory '" + directory.string() + "'", errno);
  if (::fsync(fd.get()) != 0) throw_system_error("unable to fsync directory '" + directory.string() + "'", errno);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content, int mode) {
  std::filesystem::path directory = path.parent_path().empty() ? "." : path.parent_path();
  std::string temp_pattern = (directory / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  UniqueFd fd(::mkostemp(temp_pattern.data(), O_CLOEXEC));
  if (!fd) throw_system_error("unable to create temporary file for '" + path.string() + "'", errno);
  std::filesystem::path temp_path = temp_pattern;
  try {
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
      throw_system_error("unable to set mode of '" + temp_path.string() + "'", errno);
    write_all(fd.get(), content.data(), content.size(), temp_path.c_str());
    if (::fsync(fd.get()) != 0) throw_system_error("unable to fsync '" + temp_path.string() + "'", errno);
    fd.reset();
    if (::rename(temp_path.c_str(), path.c_str()) != 0)
      throw_system_error("unable to rename '" + temp_path.string() + "' to '" + path.string() + "'", errno);
  } catch (...) {
    ::unlink(temp_path.c_str());
    throw;
  }
  sync_directory(directory);
}

}  // namespace dbkeeper
