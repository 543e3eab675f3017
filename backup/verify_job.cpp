#include "backup/verify_job.h"

#include "backup/repository_fetch.h"

#include <spdlog/spdlog.h>

#include <map>

#include "backup/backup_chain.h"
#include "backup/chain_replay.h"
#include "backup/client_credentials.h"
#include "backup/dump_stream.h"
#include "backup/engine.h"
#include "backup/metadata_mac.h"
#include "backup/point_in_time.h"
#include "backup/restore_job.h"
#include "backup/scratch_database.h"
#include "backup/scratch_instance.h"
#include "backup/verification_place.h"
#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {

std::vector<std::string> compare_tables(const std::vector<TableRecord>& expected,
                                        const std::vector<TableRecord>& found) {
  std::vector<std::string> problems;
  std::map<std::string, std::uint64_t> restored;
  for (const auto& table : found) restored[table.name] = table.rows;
  for (const auto& table : expected) {
    auto it = restored.find(table.name);
    if (it == restored.end()) {
      problems.push_back("table '" + table.name + "' is missing after the restore");
      continue;
    }
    if (it->second != table.rows)
      problems.push_back("table '" + table.name + "' has " + std::to_string(it->second) + " rows, the manifest says " +
                         std::to_string(table.rows));
    restored.erase(it);
  }
  for (const auto& [name, rows] : restored) problems.push_back("table '" + name + "' is not in the manifest");
  return problems;
}

VerifyReport verify_backup(const Target& target, const Repository& repository, const std::string& backup_id,
                           bool restore) {
  auto started = std::chrono::system_clock::now();
  VerifyReport report;
  report.restored = restore;
  std::string failure_reason = "integrity";
  auto record = [&](const BackupEntry* entry) {
    auto finished = std::chrono::system_clock::now();
    report.duration_seconds = std::chrono::duration<double>(finished - started).count();
    if (entry)
      repository.record_verification(
          *entry, VerificationRecord{report.result, report.passed, restore, started, finished, report.reason});
    repository.update_state(target.name, [&](TargetState& state) {
      state.verifications.last_attempt = started;
      if (report.passed) {
        ++state.verifications.success;
      } else if (report.result == "could-not-run") {
        ++state.verifications.could_not_run;
        state.verifications.last_failure = report.reason;
      } else {
        ++state.verifications.failure;
        state.verifications.last_failure = report.reason;
        ++state.verifications.failures_by_reason[failure_reason];
      }
    });
  };

  std::optional<BackupEntry> entry;
  try {
    auto readers = repository.lock_readers(target.name);
    entry = repository.find(target.name, backup_id);
    report.backup_id = entry->manifest.id;
    // A backup in a store is read back from it: every byte downloaded and checked again.
    std::optional<StagedBackup> staged;
    if (const auto* store = repository.remote_store(target.name))
      staged.emplace(stage_backup(*store->storage, target.name, entry->manifest.id, repository.root()));
    const Repository& files = staged ? staged->repository : repository;
    // An incremental is only as good as every backup it continues from.
    auto chain = backup_chain(files.list(target.name), files.find(target.name, entry->manifest.id));
    report.incrementals = chain.size() - 1;
    for (const auto& backup : chain) {
      for (const auto& artifact : backup.manifest.artifacts) {
        try {
          check_artifact(backup.directory / artifact.name, artifact, decryption_keys(target));
        } catch (const Error& e) {
          report.problems.push_back(backup.manifest.id == entry->manifest.id
                                        ? std::string(e.what())
                                        : "backup " + backup.manifest.id + " (which it continues from): " + e.what());
        }
      }
    }
    // Then whether the manifests are authentic (after the artifacts, whose
    // check names a wrong key as such).
    for (const auto& backup : chain) {
      try {
        authenticate_manifest(target, files, backup);
      } catch (const Error& e) {
        report.problems.push_back(e.what());
      }
    }
    // The archived binlogs that carry this backup forward are part of what
    // a restore from it may need.
    LogArchive archive(files, target.name);
    for (const auto& segment : log_chain_from(archive.segments(), entry->manifest.log_position.binlog_file)) {
      try {
        check_artifact(archive.directory() / segment.artifact.name, segment.artifact, decryption_keys(target));
        archive.authenticate(segment, decryption_keys(target));
        ++report.log_segments_checked;
      } catch (const Error& e) {
        report.problems.push_back("archived binary log '" + segment.name + "': " + e.what());
      }
    }
    if (report.problems.empty() && restore) {
      auto engine = create_engine(target.engine);
      // One verification restore per target at a time; it also owns leftovers.
      auto lock = LockFile::try_acquire(repository.target_directory(target.name) / "verify.lock");
      if (!lock) throw Error(ErrorKind::process, "another verification of target '" + target.name + "' is running");
      auto scratch_records = repository.target_directory(target.name) / "scratch";
      remove_recorded_scratch_instances(scratch_records);
      drop_recorded_scratch_databases(*engine, target, scratch_records);
      TempDir private_directory = credentials_directory();
      ChainReplay incrementals(target, files, chain);
      const auto& full = chain.front();
      VerificationPlace place(*engine, target, scratch_records);
      report.restored_into = place.description();
      const Target& into = place.target();
      // A new instance has none of the roles or accounts the objects belong to.
      if (place.is_instance())
        engine->prepare_scratch_instance(into, full.manifest.artifacts, full.directory, private_directory.path());
      for (const auto& artifact : full.manifest.artifacts) {
        if (artifact.database.empty()) continue;
        const DatabaseDescription& recorded = recorded_description(*entry, full, artifact.database);
        ScratchDatabase scratch(*engine, into, entry->manifest.id, recorded.properties, place.records());
        spdlog::info("restoring '{}' of backup {} into scratch database '{}' on {}", artifact.name, full.manifest.id,
                     scratch.name(), place.description());
        auto outcome = engine->restore_artifact(into, artifact, full.directory / artifact.name, scratch.name(),
                                                private_directory.path(), recorded);
        incrementals.apply(*engine, into, artifact, scratch.name(), private_directory.path());
        std::string label = "database '" + artifact.database + "': ";
        for (const auto& note : outcome.notes) report.notes.push_back(label + note);
        auto expected = entry->manifest.tables.count(artifact.database) ? entry->manifest.tables.at(artifact.database)
                                                                        : std::vector<TableRecord>{};
        for (auto& problem : compare_tables(expected, engine->count_rows(into, scratch.name())))
          report.problems.push_back(label + problem);
        if (!recorded.objects.empty() || !recorded.properties.encoding.empty() ||
            !recorded.properties.character_set.empty())
          for (auto& problem :
               compare_descriptions(recorded, engine->describe_database(into, scratch.name()), outcome.scope))
            report.problems.push_back(label + problem);
      }
    }
    report.passed = report.problems.empty();
    report.result = report.passed ? "passed" : "failed";
    if (!report.passed) report.reason = report.problems.front();
    record(&*entry);
    return report;
  } catch (const std::exception& e) {
    const auto* error = dynamic_cast<const Error*>(&e);
    failure_reason = to_string(error ? error->kind() : ErrorKind::internal);
    // Only a damaged backup is a failed verification; a server that is
    // down or a privilege that is missing says nothing about the backup.
    bool environment = entry && error && error->kind() != ErrorKind::integrity && error->kind() != ErrorKind::internal;
    report.result = environment ? "could-not-run" : "failed";
    report.passed = false;
    report.reason = e.what();
    report.problems.push_back(e.what());
    try {
      record(entry ? &*entry : nullptr);
    } catch (const std::exception& state_error) {
      spdlog::error("unable to record the verification of target '{}': {}", target.name, state_error.what());
    }
    throw;
  }
}

}  // namespace dbkeeper
