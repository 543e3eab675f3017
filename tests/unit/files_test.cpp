#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/private_file.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

mode_t mode_of(const std::filesystem::path& path) {
  struct stat info {};
  ::stat(path.c_str(), &info);
  return info.st_mode & 07777;
}

TEST(TempDir, is_private_and_removed_with_its_content) {
  std::filesystem::path path;
  {
    TempDir dir;
    path = dir.path();
    EXPECT_EQ(mode_of(path), 0700u);
    std::filesystem::create_directories(path / "a" / "b");
    std::ofstream(path / "a" / "b" / "file") << "x";
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TempDir, moved_from_does_not_remove) {
  TempDir first;
  auto path = first.path();
  TempDir second(std::move(first));
  { TempDir doomed(std::move(second)); }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TempDir, release_keeps_the_directory) {
  std::filesystem::path path;
  {
    TempDir dir;
    path = dir.release();
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  std::filesystem::remove_all(path);
}

TEST(PrivateFile, is_0600_and_removed_on_scope_exit) {
  TempDir dir;
  auto path = dir.path() / "my.cnf";
  {
    ::umask(0);  // even with a permissive umask
    PrivateFile file(path, "[client]\npassword=x\n");
    ::umask(022);
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_EQ(read(path), "[client]\npassword=x\n");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(PrivateFile, refuses_to_overwrite_or_follow_a_planted_file) {
  TempDir dir;
  auto path = dir.path() / "planted";
  std::filesystem::create_symlink("/etc/passwd", path);
  EXPECT_THROW(PrivateFile(path, "x"), Error);
  EXPECT_TRUE(std::filesystem::is_symlink(path));
}

TEST(write_file_atomically, replaces_content_with_the_given_mode) {
  TempDir dir;
  auto path = dir.path() / "manifest.json";
  write_file_atomically(path, "old");
  write_file_atomically(path, "new content", 0640);
  EXPECT_EQ(read(path), "new content");
  EXPECT_EQ(mode_of(path), 0640u);
  // Only the target is left: no temp file beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(write_file_atomically, leaves_the_old_file_when_it_cannot_finish) {
  TempDir dir;
  auto path = dir.path() / "sub" / "file";
  EXPECT_THROW(write_file_atomically(path, "x"), Error);  // no such directory
  auto existing = dir.path() / "keep";
  write_file_atomically(existing, "old");
  std::filesystem::create_directory(dir.path() / "blocker");
  // Renaming a file over a directory fails; the old content must survive.
  EXPECT_THROW(write_file_atomically(dir.path() / "blocker", "x"), Error);
  EXPECT_EQ(read(existing), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 2);
}

}  // namespace
}  // namespace dbkeeper
