#include "backup/storage/posix_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "backup/pipeline/file_sink.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/unique_fd.h"

namespace dbkeeper {
namespace {

// Temporary files of writers in progress (or of a killed one): never listed.
constexpr std::string_view k_temporary_marker = ".tmp-";

bool is_temporary(const std::filesystem::path& path) {
  auto name = path.filename().string();
  return name.starts_with('.') && name.find(k_temporary_marker) != std::string::npos;
}

std::chrono::system_clock::time_point modified_time(const struct stat& info) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(info.st_mtim.tv_sec) +
                                               std::chrono::nanoseconds(info.st_mtim.tv_nsec));
}

class PosixWriter final : public ObjectWriter {
 public:
  PosixWriter(std::filesystem::path path) : m_path(std::move(path)) {
    std::filesystem::create_directories(m_path.parent_path());
    std::random_device random;
    m_temporary = m_path.parent_path() /
                  ("." + m_path.filename().string() + std::string(k_temporary_marker) + std::to_string(random()));
    m_sink.emplace(m_temporary);
  }
  ~PosixWriter() override {
    if (!m_committed) {
      std::error_code ignored;
      std::filesystem::remove(m_temporary, ignored);
    }
  }

  void write(std::span<const std::byte> data) override { m_sink->write(data); }

  std::uint64_t commit() override {
    if (m_committed) return m_size;
    m_size = m_sink->bytes();
    m_sink->finish();
    if (::rename(m_temporary.c_str(), m_path.c_str()) != 0)
      throw_system_error("unable to rename '" + m_temporary.string() + "' to '" + m_path.string() + "'", errno);
    m_committed = true;
    sync_directory(m_path.parent_path());
    return m_size;
  }

 private:
  std::filesystem::path m_path;
  std::filesystem::path m_temporary;
  std::optional<FileSink> m_sink;
  std::uint64_t m_size = 0;
  bool m_committed = false;
};

class PosixStorage final : public Storage {
 public:
  explicit PosixStorage(std::filesystem::path root) : m_root(std::move(root)) {}

  std::string describe() const override { return m_root.string(); }

  std::unique_ptr<ObjectWriter> create(const std::string& key) override {
    return std::make_unique<PosixWriter>(path_of(key));
  }

  void read(const std::string& key, ByteSink& sink) const override {
    auto path = path_of(key);
    std::error_code error;
    if (!std::filesystem::exists(std::filesystem::symlink_status(path, error)))
      throw Error(ErrorKind::config, "object '" + key + "' not found in " + describe());
    pump_file(path, sink);
  }

  std::optional<ObjectInfo> stat(const std::string& key) const override {
    struct stat info {};
    auto path = path_of(key);
    if (::lstat(path.c_str(), &info) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
      throw_system_error("unable to stat '" + path.string() + "'", errno);
    }
    if (!S_ISREG(info.st_mode)) return std::nullopt;
    return ObjectInfo{key, static_cast<std::uint64_t>(info.st_size), modified_time(info)};
  }

  std::vector<ObjectInfo> list(const std::string& prefix) const override {
    // Walk only below the deepest directory the prefix names.
    auto slash = prefix.rfind('/');
    std::string directory_key = slash == std::string::npos ? std::string() : prefix.substr(0, slash);
    auto directory = directory_key.empty() ? m_root : path_of(directory_key);
    std::vector<ObjectInfo> objects;
    std::error_code error;
    auto it = std::filesystem::recursive_directory_iterator(directory, error);
    if (error) return objects;  // nothing there yet
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
      if (error) throw_system_error("unable to list '" + directory.string() + "'", error.value());
      if (!it->is_regular_file(error) || it->is_symlink(error) || is_temporary(it->path())) continue;
      std::string key = it->path().lexically_relative(m_root).generic_string();
      if (!key.starts_with(prefix)) continue;
      struct stat info {};
      if (::lstat(it->path().c_str(), &info) != 0) continue;  // removed meanwhile
      objects.push_back({key, static_cast<std::uint64_t>(info.st_size), modified_time(info)});
    }
    std::sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return objects;
  }

  std::size_t remove_abandoned_writes(const std::string& prefix) override {
    std::size_t removed = 0;
    std::error_code error;
    auto directory =
        prefix.empty() ? m_root : path_of(prefix.ends_with('/') ? prefix.substr(0, prefix.size() - 1) : prefix);
    for (auto it = std::filesystem::recursive_directory_iterator(directory, error);
         !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error))
      if (it->is_regular_file() && is_temporary(it->path()) && std::filesystem::remove(it->path())) ++removed;
    return removed;
  }

  void remove(const std::vector<std::string>& keys) override {
    for (const auto& key : keys) {
      auto path = path_of(key);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw_system_error("unable to remove '" + path.string() + "'", errno);
      // Directories hold no objects of their own: the ones left empty go too.
      for (auto directory = path.parent_path(); directory != m_root && directory.string().starts_with(m_root.string());
           directory = directory.parent_path())
        if (::rmdir(directory.c_str()) != 0) break;
    }
  }

  std::optional<std::filesystem::path> local_path(const std::string& key) const override { return path_of(key); }

 private:
  std::filesystem::path path_of(const std::string& key) const { return m_root / require_plain_key(key); }

  std::filesystem::path m_root;
};

}  // namespace

std::unique_ptr<Storage> posix_storage_at(const std::filesystem::path& root) {
  return std::make_unique<PosixStorage>(root);
}

std::unique_ptr<Storage> open_posix_storage(const StorageSettings& settings) {
  if (settings.path.empty() || !settings.path.is_absolute())
    throw Error(ErrorKind::config, "a posix repository needs an absolute path");
  return std::make_unique<PosixStorage>(settings.path);
}

}  // namespace dbkeeper
