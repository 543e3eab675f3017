#include "backup/backup_job.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "backup/backup_chain.h"
#include "backup/client_credentials.h"
#include "backup/metadata_mac.h"
#include "backup/untrusted_input.h"
#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {

CompressionSettings compression_settings(const Target& target) {
  return CompressionSettings{target.backup.compression_level, target.backup.compression_threads};
}

namespace {

std::mutex g_unrecorded_mutex;
std::map<std::string, TargetState> g_unrecorded;  // by target

}  // namespace

TargetState unrecorded_attempts(const std::string& target) {
  std::lock_guard lock(g_unrecorded_mutex);
  auto it = g_unrecorded.find(target);
  return it == g_unrecorded.end() ? TargetState{} : it->second;
}

void record_backup_attempt(const Repository& repository, const std::string& target, const std::string& type,
                           TimePoint started, const std::exception* failure) {
  auto change = [&](TargetState& state) {
    auto& counters = state.backups[type];
    if (dynamic_cast<const TargetBusy*>(failure)) {
      ++counters.skipped;
      return;
    }
    counters.last_attempt = started;
    if (!failure) {
      ++counters.success;
      return;
    }
    const auto* error = dynamic_cast<const Error*>(failure);
    ++counters.failure;
    counters.last_failure = failure->what();
    ++counters.failures_by_reason[std::string(to_string(error ? error->kind() : ErrorKind::internal))];
  };
  try {
    repository.update_state(target, change);
  } catch (const std::exception& state_error) {
    // The repository cannot be written (a full or lost disk): the attempt
    // is still counted, in this process, so BackupFailing can fire.
    spdlog::error("unable to count the {} backup attempt of target '{}' in the repository: {}", type, target,
                  state_error.what());
    std::lock_guard lock(g_unrecorded_mutex);
    change(g_unrecorded[target]);
  }
}

namespace {

// A store that holds a target's backups holds its encryption marker too,
// before the first manifest that needs it, so that it alone can restore.
void publish_encryption_marker(const Target& target, const Repository& repository, const BackupStore& store) {
  auto marker = read_repository_file(repository.target_directory(target.name) / "encryption.json");
  std::string key = target.name + "/encryption.json";
  if (marker && !store.storage->stat(key)) write_object(*store.storage, key, *marker);
}

// Lock, clean up, dump into a partial directory, write the manifest, move
// it into place, count the attempt. `parent` is set for an incremental.
BackupReport take_backup(const Target& target, const Repository& repository, const CompressionSettings& compression,
                         const std::string& type, const std::optional<BackupEntry>& parent) {
  auto started = std::chrono::system_clock::now();
  try {
    auto engine = create_engine(target.engine);
    LockFile lock = repository.lock_target(target.name, type);
    repository.remove_partial_backups(target.name);
    PartialBackup partial = repository.begin_backup(target.name, started, type);
    if (parent)
      spdlog::info("{} backup {} of target '{}' started, continuing from backup {}", type, partial.id(), target.name,
                   parent->manifest.id);
    else
      spdlog::info("{} backup {} of target '{}' started", type, partial.id(), target.name);

    TempDir private_directory = credentials_directory();
    BackupWorkspace workspace{partial.artifacts(), private_directory.path(), compression};
    DumpResult dump =
        parent ? engine->dump_incremental(target, parent->manifest, workspace) : engine->dump_full(target, workspace);

    BackupManifest manifest;
    manifest.id = partial.id();
    manifest.target = target.name;
    manifest.engine = target.engine;
    manifest.server_product = dump.server.product;
    manifest.server_version = dump.server.version;
    manifest.type = type;
    if (parent) manifest.parent = parent->manifest.id;
    manifest.tool = std::filesystem::path(dump.tool).filename().string();
    manifest.tool_version = dump.tool_version;
    manifest.started_at = started;
    manifest.finished_at = std::chrono::system_clock::now();
    manifest.databases = dump.databases;
    manifest.tables = dump.tables;
    manifest.descriptions = dump.descriptions;
    manifest.artifacts = dump.artifacts;
    manifest.log_position = dump.position;
    manifest.row_count_source = dump.row_count_source;
    seal_manifest(target, repository, manifest);
    if (const auto* store = repository.remote_store(target.name)) publish_encryption_marker(target, repository, *store);
    auto directory = partial.commit(manifest);
    record_backup_attempt(repository, target.name, type, started, nullptr);
    spdlog::info("{} backup {} of target '{}' finished in {:.1f} s: {} bytes stored from {} bytes", type, manifest.id,
                 target.name, manifest.duration_seconds(), manifest.stored_bytes(), manifest.raw_bytes());
    return BackupReport{manifest, directory};
  } catch (const std::exception& e) {
    record_backup_attempt(repository, target.name, type, started, &e);
    throw;
  }
}

}  // namespace

BackupReport run_full_backup(const Target& target, const Repository& repository,
                             const CompressionSettings& compression) {
  return take_backup(target, repository, compression, "full", std::nullopt);
}

BackupReport run_incremental_backup(const Target& target, const Repository& repository,
                                    const CompressionSettings& compression) {
  require_incremental_backups(target);
  auto parent = incremental_parent(repository.list(target.name));
  if (!parent) {
    // As pgBackRest does: the first scheduled incremental must not leave the target without any backup.
    spdlog::warn("target '{}' has no full backup to continue from: taking a full backup instead of an incremental",
                 target.name);
    return run_full_backup(target, repository, compression);
  }
  return take_backup(target, repository, compression, "incremental", parent);
}

}  // namespace dbkeeper
