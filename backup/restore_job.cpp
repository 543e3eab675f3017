#include "backup/restore_job.h"

#include "backup/repository_fetch.h"

#include <fnmatch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <span>

#include "backup/backup_chain.h"
#include "backup/chain_replay.h"
#include "backup/client_credentials.h"
#include "backup/dump_stream.h"
#include "backup/engine.h"
#include "backup/metadata_mac.h"
#include "backup/pipeline/sha256_sink.h"
#include "backup/point_in_time.h"
#include "backup/untrusted_input.h"
#include "backup/verify_job.h"
#include "core/atomic_file.h"
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

bool is_protected_database(const std::string& name, const std::vector<std::string>& patterns) {
  static const std::vector<std::string> k_always{"mysql",    "sys",       "information_schema", "performance_schema",
                                                 "postgres", "template0", "template1"};
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (std::find(k_always.begin(), k_always.end(), lower) != k_always.end()) return true;
  for (const auto& pattern : patterns)
    if (::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

std::string previous_database_name(const std::string& name, const std::string& backup_id) {
  std::string suffix = "_before_";
  for (char c : backup_id) suffix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // 63 bytes is PostgreSQL's limit (MariaDB's is 64): shorten the name, keep the suffix.
  std::string base = name.substr(0, std::min(name.size(), 63 - suffix.size()));
  while (!base.empty() && (static_cast<unsigned char>(base.back()) & 0xC0) == 0x80) base.pop_back();  // whole UTF-8
  if (!base.empty() && static_cast<unsigned char>(base.back()) >= 0xC0) base.pop_back();
  return base + suffix;
}

void record_replaced_database(const Repository& repository, const Target& target, const std::string& database,
                              const std::string& replaced) {
  auto directory = repository.target_directory(target.name) / "replaced";
  std::filesystem::create_directories(directory);
  nlohmann::json record{
      {"database", database}, {"replaced", replaced}, {"at", format_utc(std::chrono::system_clock::now())}};
  // Database names are data: the file is named by a digest of the name.
  write_file_atomically(directory / (sha256_hex(database).substr(0, 32) + ".json"), record.dump(2) + "\n", 0640);
}

std::vector<ReplacedDatabase> replaced_databases(const Repository& repository, const Target& target) {
  std::vector<ReplacedDatabase> result;
  std::error_code error;
  auto directory = repository.target_directory(target.name) / "replaced";
  for (auto it = std::filesystem::directory_iterator(directory, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (it->path().extension() != ".json") continue;
    try {
      auto j = parse_untrusted_json(read_repository_file(it->path()).value_or(""), "a replaced-database record");
      result.push_back({j.at("database").get<std::string>(), j.at("replaced").get<std::string>(),
                        parse_utc(j.at("at").get<std::string>()), it->path()});
    } catch (const std::exception& e) {
      spdlog::warn("ignoring '{}': {}", it->path().string(), e.what());
    }
  }
  return result;
}

namespace {

// Restores from the backups in `files` (the repository, or a backup fetched
// from its store); records what it replaced in `records`.
RestoreReport restore_from(const Target& target, const Repository& files, const Repository& records,
                           const RestoreRequest& request) {
  const Repository& repository = files;
  auto started = std::chrono::steady_clock::now();
  auto readers = records.lock_readers(target.name);
  if (is_protected_database(request.to_database, request.protected_databases))
    throw Error(ErrorKind::config, "database '" + request.to_database +
                                       "' is protected (the server's own, or [agent] protected_databases); a restore "
                                       "never writes into it: choose another --to-db");
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

  // Prove the artifact and the manifests first: a damaged or forged backup
  // must not replace anything (the artifact first: its check names a wrong key).
  check_artifact(entry.directory / artifact->name, *artifact, decryption_keys(target));
  for (const auto& backup : chain) authenticate_manifest(target, repository, backup);
  ChainReplay incrementals(target, repository, chain);
  // Replacing an existing database: load a copy under a temporary name,
  // prove it, then swap; the old one is kept under `previous`.
  auto engine = create_engine(target.engine);
  bool replacing = engine->database_exists(target, request.to_database);
  std::string load_into = request.to_database;
  std::string previous;
  if (replacing) {
    if (!request.force)
      throw Error(ErrorKind::config, "database '" + request.to_database + "' already exists on target '" + target.name +
                                         "'; nothing was changed (use --force to replace it)");
    previous = previous_database_name(request.to_database, requested.manifest.id);
    if (engine->database_exists(target, previous))
      throw Error(ErrorKind::config, "database '" + previous + "', where the current '" + request.to_database +
                                         "' would be kept, already exists; drop it first (nothing was changed)");
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%06x", static_cast<unsigned>(std::random_device{}() & 0xffffff));
    load_into = "dbkeeper_restore_";
    for (char c : requested.manifest.id) load_into += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    load_into += std::string("_") + suffix;
  }
  // The logs too, by extracting them (verified) before anything changes.
  std::optional<ReplayDirectory> logs;
  LogReplay replay;
  if (plan) {
    logs.emplace(archive);
    const LogPosition& start = replay_start(entry.manifest, *artifact);
    replay = LogReplay{{}, start, plan->until, artifact->database, load_into};
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

  const DatabaseDescription& recorded = recorded_description(requested, entry, artifact->database);
  engine->create_database(target, load_into, recorded.properties);
  RestoreOutcome outcome;
  try {
    TempDir private_directory = credentials_directory();
    outcome = engine->restore_artifact(target, *artifact, entry.directory / artifact->name, load_into,
                                       private_directory.path(), recorded);
    if (plan) {
      spdlog::info("replaying {} archived log(s) of target '{}' into '{}' up to {}", replay.files.size(), target.name,
                   load_into, format_utc(plan->until));
      engine->replay_logs(target, replay, private_directory.path());
    }
    incrementals.apply(*engine, target, *artifact, load_into, private_directory.path());
    if (replacing) {
      // The copy must be the backup before it takes the name: the rows of
      // every table (a point in time has no record to compare with) and
      // everything the backup recorded of the database.
      std::vector<std::string> problems;
      if (!plan) {
        auto expected = requested.manifest.tables.count(artifact->database)
                            ? requested.manifest.tables.at(artifact->database)
                            : std::vector<TableRecord>{};
        problems = compare_tables(expected, engine->count_rows(target, load_into));
        if (!recorded.objects.empty())
          for (auto& problem :
               compare_descriptions(recorded, engine->describe_database(target, load_into), outcome.scope))
            problems.push_back(problem);
      }
      if (!problems.empty())
        throw Error(ErrorKind::integrity, "the restored copy differs from backup '" + requested.manifest.id + "' (" +
                                              problems.front() + "); '" + request.to_database + "' was left as it was");
      spdlog::warn("replacing database '{}' of target '{}' (--force): the current one is kept as '{}'",
                   request.to_database, target.name, previous);
      engine->swap_databases(target, request.to_database, load_into, previous);
      record_replaced_database(records, target, previous, request.to_database);
    }
  } catch (...) {
    // Leave no half-restored database behind, under the new name or the temporary one.
    try {
      engine->drop_database(target, load_into);
    } catch (const std::exception& e) {
      spdlog::error("unable to drop the half-restored database '{}': {}", load_into, e.what());
    }
    throw;
  }

  RestoreReport report;
  report.backup_id = requested.manifest.id;
  report.incrementals = chain.size() - 1;
  report.from_database = artifact->database;
  report.notes = outcome.notes;
  report.to_database = request.to_database;
  report.previous_database = previous;
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

}  // namespace

RestoreReport restore_backup(const Target& target, const Repository& repository, const RestoreRequest& request) {
  const auto* store = repository.remote_store(target.name);
  if (!store) return restore_from(target, repository, repository, request);
  // Fetched from the store first: every byte re-read and checked before anything is replaced.
  auto readers = repository.lock_readers(target.name);
  auto staged = stage_backup(*store->storage, target.name, request.backup_id, repository.root(), request.until);
  RestoreRequest fetched = request;
  fetched.backup_id = staged.backup_id;
  return restore_from(target, staged.repository, repository, fetched);
}

}  // namespace dbkeeper
