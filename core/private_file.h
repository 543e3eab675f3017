#pragma once
// A file only its owner can read (0600), created exclusively, removed on
// scope exit. This is how passwords reach child processes: as a MySQL option
// file (--defaults-extra-file) or a PGPASSFILE, never through argv.

#include <filesystem>
#include <string_view>

namespace dbkeeper {

class PrivateFile {
 public:
  // Creates `path` (which must not exist) with mode 0600 and writes `content`.
  PrivateFile(std::filesystem::path path, std::string_view content);
  PrivateFile(PrivateFile&& other) noexcept;
  PrivateFile& operator=(PrivateFile&& other) noexcept;
  PrivateFile(const PrivateFile&) = delete;
  PrivateFile& operator=(const PrivateFile&) = delete;
  ~PrivateFile();

  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

}  // namespace dbkeeper
