#pragma once
// Restoring an incremental backup: the full backup's dump first, then the
// binary logs of every incremental in its chain, replayed from the dump's
// position up to the last incremental's end.

#include <filesystem>
#include <optional>
#include <vector>

#include "backup/engine.h"
#include "backup/log_archive.h"
#include "backup/repository.h"

namespace dbkeeper {

class ChainReplay {
 public:
  // Decompresses (and so checks) the binary logs of `chain`'s incrementals
  // into a directory beside the log archive, held locked while in use (an
  // archive pass removes such directories only when nobody holds them).
  // Throws Error{integrity} naming a damaged one before anything changes.
  ChainReplay(const Target& target, const Repository& repository, std::vector<BackupEntry> chain);

  // Replays them into `to_database`, which was restored from
  // `base_artifact` of the chain's full backup.
  void apply(const Engine& engine, const Target& target, const ArtifactRecord& base_artifact,
             const std::string& to_database, const std::filesystem::path& private_directory) const;

  std::size_t file_count() const { return m_files.size(); }

 private:
  std::vector<BackupEntry> m_chain;
  std::optional<ReplayDirectory> m_directory;
  std::vector<std::filesystem::path> m_files;
};

}  // namespace dbkeeper
