#include "backup/artifact_store.h"

#include "backup/pipeline/file_sink.h"

namespace dbkeeper {

std::unique_ptr<ByteSink> DirectoryArtifactStore::create(const std::string& name) {
  return std::make_unique<FileSink>(m_directory / name);
}

std::unique_ptr<ByteSink> ObjectArtifactStore::create(const std::string& name) {
  std::string key = m_prefix + name;
  m_written.insert(key);
  return m_storage.create(key);
}

void ObjectArtifactStore::store_directory(const std::string& name) {
  if (m_in_place) return;
  auto directory = m_staging / name;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    std::string relative = entry.path().lexically_relative(m_staging).generic_string();
    auto writer = create(relative);
    pump_file(entry.path(), *writer);  // finish() commits
  }
  std::filesystem::remove_all(directory);
}

void ObjectArtifactStore::write(const std::string& name, std::string_view content) {
  std::string key = m_prefix + name;
  m_written.insert(key);
  write_object(m_storage, key, content);
}

}  // namespace dbkeeper
