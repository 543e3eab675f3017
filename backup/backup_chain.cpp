#include "backup/backup_chain.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "backup/log_archive.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

// Where a backup's binary log position lies in the server's history, when
// it names one: the log file's sequence number and the offset in it.
std::optional<std::tuple<std::string, std::uint64_t, std::uint64_t>> log_order(const BackupManifest& manifest) {
  const auto& position = manifest.log_position;
  auto sequence = log_file_sequence(position.binlog_file);
  if (!sequence) return std::nullopt;
  std::string base = position.binlog_file.substr(0, position.binlog_file.rfind('.'));
  return std::tuple{base, *sequence, position.binlog_position};
}

}  // namespace

std::vector<BackupEntry> backup_chain(const std::vector<BackupEntry>& backups, const BackupEntry& last) {
  std::vector<BackupEntry> chain{last};
  std::set<std::string> seen{last.manifest.id};
  while (chain.back().manifest.type == "incremental") {
    const auto& child = chain.back().manifest;
    auto parent = std::find_if(backups.begin(), backups.end(),
                               [&](const BackupEntry& entry) { return entry.manifest.id == child.parent; });
    if (parent == backups.end())
      throw Error(ErrorKind::integrity, "incremental backup '" + child.id + "' continues from backup '" + child.parent +
                                            "', which is not in the repository");
    // Linked by id and ordered by the binary log, never by the clock: an
    // incremental taken after the clock stepped back is still the child.
    if (!seen.insert(parent->manifest.id).second)
      throw Error(ErrorKind::integrity,
                  "incremental backup '" + child.id + "' names a parent '" + child.parent + "' that continues from it");
    auto parent_position = log_order(parent->manifest);
    auto child_position = log_order(child);
    if (parent_position && child_position && std::get<0>(*parent_position) == std::get<0>(*child_position) &&
        *parent_position > *child_position)
      throw Error(ErrorKind::integrity, "incremental backup '" + child.id + "' ends at " +
                                            child.log_position.binlog_file + ":" +
                                            std::to_string(child.log_position.binlog_position) +
                                            ", before its parent '" + child.parent + "' ends");
    chain.push_back(*parent);
  }
  if (chain.back().manifest.type != "full")
    throw Error(ErrorKind::integrity, "backup '" + last.manifest.id + "' does not lead back to a full backup ('" +
                                          chain.back().manifest.id + "' is a " + chain.back().manifest.type +
                                          " backup)");
  std::reverse(chain.begin(), chain.end());
  return chain;
}

std::optional<BackupEntry> incremental_parent(const std::vector<BackupEntry>& backups) {
  for (auto it = backups.rbegin(); it != backups.rend(); ++it) {
    if (it->manifest.type != "full" && it->manifest.type != "incremental") continue;
    try {
      backup_chain(backups, *it);
      return *it;
    } catch (const Error&) {
      continue;  // a broken chain is skipped: the next older one may be whole
    }
  }
  return std::nullopt;
}

}  // namespace dbkeeper
