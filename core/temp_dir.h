#pragma once
// A directory created with mkdtemp and removed, with everything in it, when
// the owner goes out of scope.

#include <filesystem>
#include <string_view>

namespace dbkeeper {

class TempDir {
 public:
  // Creates `<parent>/<prefix>XXXXXX`, mode 0700. Throws Error{io}.
  explicit TempDir(const std::filesystem::path& parent = std::filesystem::temp_directory_path(),
                   std::string_view prefix = "dbkeeper-");
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return m_path; }
  // Keeps the directory on destruction; returns its path.
  std::filesystem::path release();

 private:
  std::filesystem::path m_path;
};

}  // namespace dbkeeper
