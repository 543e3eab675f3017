// The repository commands: backup, list, verify, restore, queries, prune.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "agent/cli.h"
#include "agent/invocation.h"
#include "agent/open_repository.h"
#include "agent/repository_copies.h"
#include "backup/backup_job.h"
#include "backup/engine.h"
#include "backup/log_archive_job.h"
#include "backup/point_in_time.h"
#include "backup/prune_job.h"
#include "backup/repository_copy.h"
#include "backup/repository_fetch.h"
#include "backup/restore_job.h"
#include "backup/verify_job.h"
#include "collectors/statement_summary.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "core/timestamp.h"

namespace dbkeeper {
namespace {

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

std::string verification_state(const BackupEntry& entry) {
  if (!entry.verification) return "no";
  std::string kind = entry.verification->restored ? "restore" : "checksums";
  if (entry.verification->result == "could-not-run") return "could not run (" + kind + ")";
  return entry.verification->passed ? "passed (" + kind + ")" : "FAILED (" + kind + "): not restorable";
}

// The TARGET argument when given, else every configured target.
std::vector<const Target*> selected_targets(const Invocation& invocation) {
  std::vector<const Target*> targets;
  if (invocation.options.count("target"))
    targets.push_back(&require_target(invocation));
  else
    for (const auto& target : invocation.config.targets) targets.push_back(&target);
  return targets;
}

// The first of a target's repositories: where its backups are made.
std::string first_repository(const Target& target) {
  return target.primary_repository.empty() ? std::string(k_local_repository) : target.primary_repository;
}

// The repository named by --repository (the target's first when not given).
std::string repository_option(const Invocation& invocation, const Target& target) {
  if (!invocation.options.count("repository")) return first_repository(target);
  auto name = invocation.options["repository"].as<std::string>();
  if (name != k_local_repository && !invocation.config.find_repository(name))
    throw UsageError("no [[repository]] is named '" + name + "'");
  return name;
}

// The repository that reads `target`'s backups from repository `name`:
// the local one, or one with that store for the target (verifications
// are recorded there; state, locks and records of replaced databases stay
// local).
Repository reading_from(const Invocation& invocation, const Target& target, const std::string& name) {
  if (name == k_local_repository) return Repository(invocation.config.agent.repository);
  if (name == target.primary_repository) return open_repository(invocation.config);
  std::shared_ptr<Storage> storage = open_storage(invocation.config.find_repository(name)->storage);
  return Repository(invocation.config.agent.repository, {{target.name, BackupStore{name, storage}}});
}

// Where a restore may read from, in order: the one --repository names, or
// the target's first repository and then each copy.
std::vector<std::string> restore_sources(const Invocation& invocation, const Target& target) {
  if (invocation.options.count("repository")) return {repository_option(invocation, target)};
  std::vector<std::string> sources{first_repository(target)};
  sources.insert(sources.end(), target.copies_to.begin(), target.copies_to.end());
  return sources;
}

// A failure that another repository's copy may not have: the backup is
// missing or damaged here.
bool another_copy_may_serve(const Error& error) {
  std::string message = error.what();
  return error.kind() == ErrorKind::integrity ||
         (error.kind() == ErrorKind::config && (message.find("has no backup") != std::string::npos ||
                                                message.find("has no complete backup") != std::string::npos));
}

}  // namespace

int command_backup(const Invocation& invocation) {
  const Target& target = require_target(invocation);
  const auto& type = invocation.options["type"].as<std::string>();
  Repository repository = open_repository(invocation.config);
  if (type == "log") {
    auto pass = run_log_archive(target, repository, compression_settings(target));
    std::uint64_t stored = 0;
    for (const auto& segment : pass.stored) stored += segment.artifact.stored_bytes;
    std::cout << "log archive of target '" << target.name << "': " << pass.stored.size() << " log file(s) archived";
    if (!pass.stored.empty())
      std::cout << " (" << pass.stored.front().name
                << (pass.stored.size() > 1 ? " to " + pass.stored.back().name : std::string()) << ", "
                << human_bytes(stored) << " stored)";
    std::cout << "; complete until " << format_utc(pass.progress.complete_until) << "\n";
    return k_exit_success;
  }
  auto report = type == "incremental" ? run_incremental_backup(target, repository, compression_settings(target))
                                      : run_full_backup(target, repository, compression_settings(target));
  std::size_t tables = 0;
  for (const auto& [database, list] : report.manifest.tables) tables += list.size();
  std::cout << report.manifest.type << " backup " << report.manifest.id << " of target '" << target.name << "'"
            << (report.manifest.parent.empty() ? "" : " (after " + report.manifest.parent + ")")
            << " complete: " << report.manifest.databases.size() << " database(s), " << tables << " table(s), "
            << human_bytes(report.manifest.raw_bytes())
            << (report.manifest.type == "incremental" ? " of binary log, " : " dumped, ")
            << human_bytes(report.manifest.stored_bytes())
            << (encryption_key(target) ? " stored encrypted, " : " stored, ") << std::fixed << std::setprecision(1)
            << report.manifest.duration_seconds() << " s\n";
  return k_exit_success;
}

int command_list(const Invocation& invocation) {
  Repository repository = open_repository(invocation.config);
  auto targets = selected_targets(invocation);

  bool json_output = invocation.options["json"].as<bool>();
  nlohmann::json array = nlohmann::json::array();
  std::vector<std::string> recovery_lines;
  if (!json_output)
    std::printf("%-8s %-18s %-11s %-25s %9s %11s %11s  %s\n", "TARGET", "ID", "TYPE", "FINISHED", "DURATION", "RAW",
                "STORED", "VERIFIED");
  for (const Target* target : targets) {
    std::string from = repository_option(invocation, *target);
    std::vector<std::string> problems;
    auto backups = reading_from(invocation, *target, from).list(target->name, &problems);
    for (const auto& entry : backups) {
      const auto& m = entry.manifest;
      if (json_output) {
        nlohmann::json object{
            {"id", m.id},
            {"target", m.target},
            {"type", m.type},
            {"engine", m.engine},
            {"started_at", format_utc(m.started_at)},
            {"finished_at", format_utc(m.finished_at)},
            {"duration_seconds", m.duration_seconds()},
            {"raw_bytes", m.raw_bytes()},
            {"stored_bytes", m.stored_bytes()},
            {"databases", m.databases},
            {"encrypted", std::all_of(m.artifacts.begin(), m.artifacts.end(),
                                      [](const ArtifactRecord& a) { return !a.encryption.empty(); })},
            {"verified", entry.verification ? nlohmann::json(entry.verification->passed) : nlohmann::json(nullptr)},
            {"verification", entry.verification ? entry.verification->result : "never"},
            {"restorable", !failed_verification(entry)}};
        if (entry.verification) {
          object["verification_reason"] = entry.verification->reason;
          object["verification_finished_at"] = format_utc(entry.verification->finished_at);
          object["verification_restored"] = entry.verification->restored;
        }
        nlohmann::json tables = nlohmann::json::object();
        for (const auto& [database, list] : m.tables) {
          nlohmann::json rows = nlohmann::json::object();
          for (const auto& table : list) rows[table.name] = table.rows;
          tables[database] = rows;
        }
        object["tables"] = tables;
        if (!m.parent.empty()) object["parent"] = m.parent;
        array.push_back(object);
      } else {
        char duration[32];
        std::snprintf(duration, sizeof duration, "%.1f s", m.duration_seconds());
        std::printf("%-8s %-18s %-11s %-25s %9s %11s %11s  %s\n", m.target.c_str(), m.id.c_str(), m.type.c_str(),
                    format_utc(m.finished_at).c_str(), duration, human_bytes(m.raw_bytes()).c_str(),
                    human_bytes(m.stored_bytes()).c_str(), verification_state(entry).c_str());
      }
    }
    // The log archive of a copy is read when a restore fetches it.
    LogArchive archive(repository, target->name);
    auto segments = from == first_repository(*target) ? archive.segments(&problems) : std::vector<LogSegment>{};
    auto progress = archive.progress();
    auto window = recovery_window(backups, segments, progress);
    if (!segments.empty()) {
      std::uint64_t raw = 0, stored = 0;
      for (const auto& segment : segments) {
        raw += segment.artifact.raw_bytes;
        stored += segment.artifact.stored_bytes;
      }
      std::string complete = format_utc(progress ? progress->complete_until : segments.back().closed_before);
      if (json_output) {
        array.push_back({{"target", target->name},
                         {"type", "log"},
                         {"first", segments.front().name},
                         {"last", segments.back().name},
                         {"segments", segments.size()},
                         {"complete_until", complete},
                         {"raw_bytes", raw},
                         {"stored_bytes", stored}});
      } else {
        std::string files = std::to_string(segments.size()) + " file(s), to " + segments.back().name;
        std::printf("%-8s %-18s %-11s %-25s %9s %11s %11s  %s\n", target->name.c_str(), segments.front().name.c_str(),
                    "log", complete.c_str(), "", human_bytes(raw).c_str(), human_bytes(stored).c_str(), files.c_str());
      }
    }
    if (!json_output && window.start)
      recovery_lines.push_back(target->name + ": restorable from " + format_utc(*window.start) + " to " +
                               format_utc(*window.end) +
                               (segments.empty() ? " (at its backups)" : " (any second, with --until)"));
    for (const auto& problem : problems) spdlog::warn("target '{}': {}", target->name, problem);
  }
  if (json_output) std::cout << array.dump(2) << "\n";
  if (!recovery_lines.empty()) std::cout << "\n";
  for (const auto& line : recovery_lines) std::cout << line << "\n";
  return k_exit_success;
}

int command_verify(const Invocation& invocation) {
  const Target& target = require_target(invocation);
  std::string from = repository_option(invocation, target);
  // A store is re-read: every byte is downloaded and checked again.
  Repository repository = reading_from(invocation, target, from);
  if (from != k_local_repository)
    std::cout << "verifying the " << (from == target.primary_repository ? "backup" : "copy") << " in repository '"
              << from << "'\n";
  auto report = verify_backup(target, repository, invocation.options["backup"].as<std::string>(),
                              invocation.options["restore"].as<bool>());
  for (const auto& note : report.notes) std::cout << "not compared: " << note << "\n";
  if (report.passed) {
    std::cout << "backup " << report.backup_id << " of target '" << target.name << "' verified"
              << (report.incrementals > 0
                      ? " with its chain (a full backup and " + std::to_string(report.incrementals) + " incremental(s))"
                      : std::string())
              << (report.restored ? " by a restore into a scratch database on " + report.restored_into
                                  : std::string(" (checksums and decompression)"));
    if (report.log_segments_checked > 0)
      std::cout << ", with the " << report.log_segments_checked << " archived binary log(s) that follow it";
    std::cout << " in " << std::fixed << std::setprecision(1) << report.duration_seconds << " s\n";
    return k_exit_success;
  }
  std::cerr << "backup " << report.backup_id << " of target '" << target.name << "' FAILED verification:\n";
  for (const auto& problem : report.problems) std::cerr << "  " << problem << "\n";
  return k_exit_failure;
}

// The id of the backup a restore would use, for the confirmation prompt
// ("latest" resolved), or the id as given when it cannot be resolved.
std::string repository_backup_id(const Invocation& invocation, const Target& target) {
  auto id = invocation.options["backup"].as<std::string>();
  try {
    return open_repository(invocation.config).find(target.name, id).manifest.id;
  } catch (const Error&) {
    return id;
  }
}

int command_restore(const Invocation& invocation) {
  const Target& target = require_target(invocation);
  RestoreRequest request;
  if (invocation.options.count("until")) {
    try {
      request.until = parse_timestamp(invocation.options["until"].as<std::string>());
    } catch (const Error& e) {
      throw UsageError(std::string("--until: ") + e.what());
    }
  }
  request.backup_id = invocation.options["backup"].as<std::string>();
  request.to_database = invocation.options["to-db"].as<std::string>();
  if (invocation.options.count("database")) request.from_database = invocation.options["database"].as<std::string>();
  request.force = invocation.options["force"].as<bool>();
  request.protected_databases = invocation.config.agent.protected_databases;
  if (request.force && !invocation.options["yes"].as<bool>() &&
      create_engine(target.engine)->database_exists(target, request.to_database)) {
    // Replacing a database is the one command that changes what users see:
    // a person types its name; a script says --yes.
    if (!::isatty(STDIN_FILENO))
      throw UsageError("--force would replace database '" + request.to_database +
                       "'; confirm with --yes when not on a terminal (nothing was changed)");
    std::cout << "database '" << request.to_database << "' on target '" << target.name
              << "' will be replaced (the current one is kept as '"
              << previous_database_name(request.to_database, repository_backup_id(invocation, target)) << "').\n"
              << "type its name to go on: " << std::flush;
    std::string typed;
    std::getline(std::cin, typed);
    if (typed != request.to_database) throw UsageError("not confirmed; nothing was changed");
  }
  RestoreReport report;
  auto sources = restore_sources(invocation, target);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    try {
      report = restore_backup(target, reading_from(invocation, target, sources[i]), request);
      if (sources[i] != k_local_repository) std::cout << "restored from repository '" << sources[i] << "'\n";
      break;
    } catch (const Error& e) {
      if (i + 1 == sources.size() || !another_copy_may_serve(e)) throw;
      std::cerr << "repository '" << sources[i] << "' cannot serve this restore (" << e.what() << "); trying '"
                << sources[i + 1] << "'\n";
    }
  }
  std::cout << "restored database '" << report.from_database << "' of backup " << report.backup_id << " into '"
            << report.to_database << "' on target '" << target.name << "'";
  if (report.incrementals > 0) std::cout << ", through " << report.incrementals << " incremental backup(s)";
  if (report.until)
    std::cout << ", replayed " << report.log_segments << " archived log(s) up to " << format_utc(*report.until);
  std::cout << ": " << report.tables << " table(s), " << report.rows << " row(s) in " << std::fixed
            << std::setprecision(1) << report.duration_seconds << " s\n";
  if (!report.previous_database.empty())
    std::cout << "the database it replaced is kept as '" << report.previous_database
              << "' (prune drops it after [target.restore] keep_replaced)\n";
  if (!report.notes.empty()) {
    std::cout << "not carried into '" << report.to_database << "':\n";
    for (const auto& note : report.notes) std::cout << "  " << note << "\n";
  }
  return k_exit_success;
}

int command_queries(const Invocation& invocation) {
  const Target& target = require_target(invocation);
  int limit = invocation.options.count("limit") ? invocation.options["limit"].as<int>() : target.queries.top_n;
  auto statements = top_statements(target, limit);
  if (invocation.options["json"].as<bool>()) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& s : statements)
      array.push_back({{"digest", s.digest},
                       {"mean_seconds", s.mean_seconds},
                       {"calls", s.calls},
                       {"schemas", s.schemas},
                       {"text", s.text}});
    std::cout << array.dump(2) << "\n";
    return k_exit_success;
  }
  std::printf("%-34s %10s %10s %-16s %s\n", "DIGEST", "MEAN s", "CALLS", "SCHEMAS", "STATEMENT");
  for (const auto& s : statements) {
    std::string text = s.text;
    for (auto& c : text)
      if (c == '\n' || c == '\t') c = ' ';
    std::printf("%-34s %10.4f %10.0f %-16s %s\n", s.digest.c_str(), s.mean_seconds, s.calls, s.schemas.c_str(),
                text.c_str());
  }
  return k_exit_success;
}

int command_copy(const Invocation& invocation) {
  Repository repository = open_repository(invocation.config);
  std::string only = invocation.options.count("repository") ? invocation.options["repository"].as<std::string>() : "";
  if (!only.empty() && !invocation.config.find_repository(only))
    throw UsageError("no [[repository]] is named '" + only + "'");
  int failures = 0;
  std::size_t copied_targets = 0;
  for (const Target* target : selected_targets(invocation)) {
    if (copy_destinations(*target).empty()) continue;
    ++copied_targets;
    failures += copy_to_repositories(invocation.config, *target, repository, only);
  }
  if (copied_targets == 0) throw UsageError("no selected target lists repositories to copy to (repositories = [...])");
  return failures == 0 ? k_exit_success : k_exit_failure;
}

int command_prune(const Invocation& invocation) {
  Repository repository = open_repository(invocation.config);
  auto targets = selected_targets(invocation);
  bool dry_run = invocation.options["dry-run"].as<bool>();
  int failures = 0;
  for (const Target* target : targets) {
    try {
      auto decisions = prune_target(*target, repository, std::chrono::system_clock::now(), dry_run);
      for (const auto& decision : decisions) {
        const char* action = decision.keep ? "keep" : (dry_run ? "would delete" : "deleted");
        std::printf("%-8s %-18s %-13s %s\n", target->name.c_str(), decision.id.c_str(), action,
                    decision.reason.c_str());
      }
      for (const auto& [name, copies] :
           prune_repository_copies(invocation.config, *target, std::chrono::system_clock::now(), dry_run, failures))
        for (const auto& decision : copies) {
          const char* action = decision.keep ? "keep" : (dry_run ? "would delete" : "deleted");
          std::printf("%-8s %-18s %-13s %s (in %s)\n", target->name.c_str(), decision.id.c_str(), action,
                      decision.reason.c_str(), name.c_str());
        }
    } catch (const std::exception& e) {
      spdlog::error("prune of target '{}' failed: {}", target->name, e.what());
      ++failures;
    }
  }
  return failures == 0 ? k_exit_success : k_exit_failure;
}

}  // namespace dbkeeper
