#pragma once
// Where a backup's artifacts go while it is taken: files in the local
// repository's partial directory, or objects streamed straight into the
// target's primary repository (an S3 bucket). Engines write through this
// and never know which.

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "backup/pipeline/byte_sink.h"
#include "backup/storage/storage.h"

namespace dbkeeper {

class ArtifactStore {
 public:
  virtual ~ArtifactStore() = default;
  // A new artifact `name`, streamed: finish() makes it whole there.
  virtual std::unique_ptr<ByteSink> create(const std::string& name) = 0;
  // A local directory for a tool that writes artifact `name` as files of its
  // own (pg_dump --format=directory)...
  virtual std::filesystem::path directory_for(const std::string& name) = 0;
  // ...stored, file by file, once the tool has finished.
  virtual void store_directory(const std::string& name) = 0;
};

// Artifacts as files in `directory`.
class DirectoryArtifactStore final : public ArtifactStore {
 public:
  explicit DirectoryArtifactStore(std::filesystem::path directory) : m_directory(std::move(directory)) {}
  std::unique_ptr<ByteSink> create(const std::string& name) override;
  std::filesystem::path directory_for(const std::string& name) override { return m_directory / name; }
  void store_directory(const std::string&) override {}

 private:
  std::filesystem::path m_directory;
};

// Artifacts as objects "<prefix><name>" in `storage`. Directory artifacts
// are written into `staging` and then stored, or, when `in_place` (the
// store keeps its objects as files in that very directory), left where the
// tool wrote them.
class ObjectArtifactStore final : public ArtifactStore {
 public:
  ObjectArtifactStore(Storage& storage, std::string prefix, std::filesystem::path staging, bool in_place = false)
      : m_storage(storage), m_prefix(std::move(prefix)), m_staging(std::move(staging)), m_in_place(in_place) {}
  std::unique_ptr<ByteSink> create(const std::string& name) override;
  std::filesystem::path directory_for(const std::string& name) override { return m_staging / name; }
  void store_directory(const std::string& name) override;

  Storage& storage() const { return m_storage; }
  const std::string& prefix() const { return m_prefix; }
  // Writes a small object under the prefix (a manifest, a marker).
  void write(const std::string& name, std::string_view content);
  const std::set<std::string>& written() const { return m_written; }

 private:
  Storage& m_storage;
  std::string m_prefix;
  std::filesystem::path m_staging;
  bool m_in_place;
  std::set<std::string> m_written;
};

}  // namespace dbkeeper
