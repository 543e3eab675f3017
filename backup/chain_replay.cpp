#include "backup/chain_replay.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "backup/dump_stream.h"
#include "backup/log_archive.h"
#include "backup/pipeline/file_sink.h"
#include "core/error.h"

namespace dbkeeper {

ChainReplay::ChainReplay(const Target& target, const Repository& repository, std::vector<BackupEntry> chain)
    : m_chain(std::move(chain)) {
  if (m_chain.size() < 2) return;
  m_directory.emplace(LogArchive(repository, target.name));
  for (std::size_t i = 1; i < m_chain.size(); ++i) {
    const auto& backup = m_chain[i];
    for (const auto& artifact : backup.manifest.artifacts) {
      if (artifact.format != "binlog") continue;
      auto file = m_directory->path() / artifact.name.substr(0, artifact.name.size() - 4);  // without ".zst"
      try {
        FileSink sink(file);
        check_artifact(backup.directory / artifact.name, artifact, decryption_keys(target), &sink);
      } catch (const Error& e) {
        throw Error(e.kind(), "incremental backup " + backup.manifest.id + ": " + e.what());
      }
      m_files.push_back(file);
    }
  }
}

void ChainReplay::apply(const Engine& engine, const Target& target, const ArtifactRecord& base_artifact,
                        const std::string& to_database, const std::filesystem::path& private_directory) const {
  if (m_chain.size() < 2) return;
  const auto& full = m_chain.front().manifest;
  const LogPosition& start = replay_start(full, base_artifact);
  auto first = std::find_if(m_files.begin(), m_files.end(),
                            [&](const auto& file) { return file.filename() == start.binlog_file; });
  if (first == m_files.end())
    throw Error(ErrorKind::integrity, "the incremental backups after " + full.id + " do not hold binary log '" +
                                          start.binlog_file + "', where database '" + base_artifact.database +
                                          "' of that backup starts");
  LogReplay replay{std::vector<std::filesystem::path>(first, m_files.end()),
                   start,
                   TimePoint{},
                   base_artifact.database,
                   to_database,
                   m_chain.back().manifest.log_position};
  spdlog::info("replaying {} incremental backup(s) ({} binary log(s)) of target '{}' into '{}'", m_chain.size() - 1,
               replay.files.size(), target.name, to_database);
  engine.replay_logs(target, replay, private_directory);
}

}  // namespace dbkeeper
