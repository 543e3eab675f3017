#include "backup/restore_job.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>

#include "backup/backup_chain.h"
#include "backup/chain_replay.h"
#include "backup/client_credentials.h"
#include "backup/dump_stream.h"
#include "backup/engine.h"
#include "backup/point_in_time.h"
#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {

const DatabaseDescription& recorded_description(const BackupEntry& requested, const BackupEntry& full,
                                                const std::string& database) {
  static const DatabaseDescription k_none;
  for (const auto* entry : {&requested, &full}) {
    auto it = entry->manifest.descriptions.find(database);
    if (it != entry->manifest.descriptions.end()) return it->second;
  }
  return k_none;
}

RestoreReport restore_backup(const Target& target, const Repository& repository, const RestoreRequest& request) {
  auto started = std::chrono::steady_clock::now();
  LogArchive archive(repository, target.name);
  std::optional<PointInTimePlan> plan;
  if (request.until) {
    require_log_archive(target);
    if (request.backup_id != "latest") repository.find(target.name, request.backup_id);  // names what exists
    plan = plan_point_in_time(repository.list(target.name), archive.segments(), archive.progress(), *request.until,
                              request.backup_id);
  }
  BackupEntry entry = plan ? plan->base : repository.find(target.name, request.backup_id);
  // An incremental restores its chain: the full backup's dump, then the
  // binary logs of each incremental after it.
  std::vector<BackupEntry> chain{entry};
  if (!plan) chain = backup_chain(repository.list(target.name), entry);
  const BackupEntry requested = entry;
  entry = chain.front();
  const ArtifactRecord* artifact = nullptr;
  std::string available;
  for (const auto& candidate : entry.manifest.artifacts) {
    if (candidate.database.empty()) continue;
    available += (available.empty() ? "'" : ", '") + candidate.database + "'";
    if (request.from_database.empty() || candidate.database == request.from_database) {
      if (artifact && request.from_database.empty())
        throw Error(ErrorKind::config, "backup '" + entry.manifest.id + "' holds several databases (" + available +
                                           "...); choose one with --database");
      artifact = &candidate;
    }
  }
  if (!artifact)
    throw Error(ErrorKind::config, "backup '" + entry.manifest.id + "' has no database '" + request.from_database +
                                       "' (it has " + (available.empty() ? "none" : available) + ")");

  // Prove the artifact first: a damaged backup must not replace anything.
  check_artifact(entry.directory / artifact->name, *artifact, decryption_keys(target));
  ChainReplay incrementals(target, repository, chain);
  // The logs too, by extracting them (verified) before anything changes.
  std::optional<ReplayDirectory> logs;
  LogReplay replay;
  if (plan) {
    logs.emplace(archive);
    const LogPosition& start = replay_start(entry.manifest, *artifact);
    replay = LogReplay{{}, start, plan->until, artifact->database, request.to_database};
    auto first = std::find_if(plan->segments.begin(), plan->segments.end(),
                              [&](const LogSegment& segment) { return segment.name == start.binlog_file; });
    if (first == plan->segments.end())
      throw Error(ErrorKind::integrity, "database '" + artifact->database + "' of backup '" + entry.manifest.id +
                                            "' starts in binary log '" + start.binlog_file +
                                            "', which the log archive does not hold up to that time");
    for (const auto& segment : std::span(first, plan->segments.end())) {
      replay.files.push_back(logs->path() / segment.name);
      archive.extract(segment, replay.files.back(), decryption_keys(target));
    }
  }

  auto engine = create_engine(target.engine);
  if (engine->database_exists(target, request.to_database)) {
    if (!request.force)
      throw Error(ErrorKind::config, "database '" + request.to_database + "' already exists on target '" + target.name +
                                         "'; nothing was changed (use --force to replace it)");
    spdlog::warn("dropping database '{}' of target '{}' to replace it (--force)", request.to_database, target.name);
    engine->drop_database(target, request.to_database);
  }
  const DatabaseDescription& recorded = recorded_description(requested, entry, artifact->database);
  engine->create_database(target, request.to_database, recorded.properties);
  RestoreOutcome outcome;
  try {
    TempDir private_directory = credentials_directory();
    outcome = engine->restore_artifact(target, *artifact, entry.directory / artifact->name, request.to_database,
                                       private_directory.path(), recorded);
    if (plan) {
      spdlog::info("replaying {} archived log(s) of target '{}' into '{}' up to {}", replay.files.size(), target.name,
                   request.to_database, format_utc(plan->until));
      engine->replay_logs(target, replay, private_directory.path());
    }
    incrementals.apply(*engine, target, *artifact, request.to_database, private_directory.path());
  } catch (...) {
    // Leave no half-restored database behind under the new name.
    try {
      engine->drop_database(target, request.to_database);
    } catch (const std::exception& e) {
      spdlog::error("unable to drop the half-restored database '{}': {}", request.to_database, e.what());
    }
    throw;
  }

  RestoreReport report;
  report.backup_id = requested.manifest.id;
  report.incrementals = chain.size() - 1;
  report.from_database = artifact->database;
  report.notes = outcome.notes;
  report.to_database = request.to_database;
  if (plan) {
    report.until = plan->until;
    report.log_segments = plan->segments.size();
  }
  for (const auto& table : engine->count_rows(target, request.to_database)) {
    ++report.tables;
    report.rows += table.rows;
  }
  report.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace dbkeeper
