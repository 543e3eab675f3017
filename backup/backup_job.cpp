#include "backup/backup_job.h"

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {

CompressionSettings compression_settings(const Target& target) {
  return CompressionSettings{target.backup.compression_level, target.backup.compression_threads};
}

void record_backup_attempt(const Repository& repository, const std::string& target, const std::string& type,
                           TimePoint started, const std::exception* failure) {
  try {
    repository.update_state(target, [&](TargetState& state) {
      auto& counters = state.backups[type];
      counters.last_attempt = started;
      if (!failure) {
        ++counters.success;
        return;
      }
      const auto* error = dynamic_cast<const Error*>(failure);
      ++counters.failure;
      counters.last_failure = failure->what();
      ++counters.failures_by_reason[std::string(to_string(error ? error->kind() : ErrorKind::internal))];
    });
  } catch (const std::exception& state_error) {
    // The attempt's own outcome matters more than its count: report, go on.
    spdlog::error("unable to count the {} backup attempt of target '{}': {}", type, target, state_error.what());
  }
}

BackupReport run_full_backup(const Target& target, const Repository& repository,
                             const CompressionSettings& compression) {
  const std::string type = "full";
  auto started = std::chrono::system_clock::now();
  try {
    auto engine = create_engine(target.engine);
    LockFile lock = repository.lock_target(target.name, type);
    repository.remove_partial_backups(target.name);
    PartialBackup partial = repository.begin_backup(target.name, started);
    spdlog::info("full backup {} of target '{}' started", partial.id(), target.name);

    TempDir private_directory(std::filesystem::temp_directory_path(), "dbkeeper-credentials-");
    DumpResult dump =
        engine->dump_full(target, BackupWorkspace{partial.directory(), private_directory.path(), compression});

    BackupManifest manifest;
    manifest.id = partial.id();
    manifest.target = target.name;
    manifest.engine = target.engine;
    manifest.server_product = dump.server.product;
    manifest.server_version = dump.server.version;
    manifest.type = type;
    manifest.tool = std::filesystem::path(dump.tool).filename().string();
    manifest.tool_version = dump.tool_version;
    manifest.started_at = started;
    manifest.finished_at = std::chrono::system_clock::now();
    manifest.databases = dump.databases;
    manifest.tables = dump.tables;
    manifest.artifacts = dump.artifacts;
    manifest.log_position = dump.position;
    manifest.row_count_source = dump.row_count_source;
    auto directory = partial.commit(manifest);
    record_backup_attempt(repository, target.name, type, started, nullptr);
    spdlog::info("full backup {} of target '{}' finished in {:.1f} s: {} bytes stored from {} bytes", manifest.id,
                 target.name, manifest.duration_seconds(), manifest.stored_bytes(), manifest.raw_bytes());
    return BackupReport{manifest, directory};
  } catch (const std::exception& e) {
    record_backup_attempt(repository, target.name, type, started, &e);
    throw;
  }
}

}  // namespace dbkeeper
