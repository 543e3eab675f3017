#include "backup/log_archive_job.h"

#include <spdlog/spdlog.h>

#include "backup/backup_job.h"
#include "core/temp_dir.h"

namespace dbkeeper {

LogArchivePass run_log_archive(const Target& target, const Repository& repository,
                               const CompressionSettings& compression) {
  const std::string type = "log";
  // Asking an engine without a log archive is a usage error, not a failed
  // backup: nothing is counted, so no alert fires for it.
  require_log_archive(target);
  auto started = std::chrono::system_clock::now();
  try {
    auto engine = create_engine(target.engine);
    LogArchive archive(repository, target.name);
    LockFile lock = archive.lock(k_log_archive_pass);
    if (auto removed = archive.remove_orphans())
      spdlog::info("removed {} leftover file(s) of an interrupted log archive pass of target '{}'", removed,
                   target.name);
    std::vector<std::string> start_files;
    for (const auto& backup : repository.list(target.name))
      if (backup.manifest.type == "full" && !backup.manifest.log_position.binlog_file.empty())
        start_files.push_back(backup.manifest.log_position.binlog_file);
    // Raw logs wait here before compression: beside the archive, on its
    // filesystem, not in a small /tmp.
    TempDir work(archive.directory(), ".pass-");
    DirectoryArtifactStore artifacts(archive.directory());
    auto pass =
        engine->archive_logs(target, archive, start_files, BackupWorkspace{artifacts, work.path(), compression});
    record_backup_attempt(repository, target.name, type, started, nullptr);
    for (const auto& segment : pass.stored)
      spdlog::info("archived binary log '{}' of target '{}': {} bytes stored from {}", segment.name, target.name,
                   segment.artifact.stored_bytes, segment.artifact.raw_bytes);
    return pass;
  } catch (const std::exception& e) {
    record_backup_attempt(repository, target.name, type, started, &e);
    throw;
  }
}

}  // namespace dbkeeper
