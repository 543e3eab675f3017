#include "backup/backup_chain.h"

#include <algorithm>

#include "core/error.h"

namespace dbkeeper {

std::vector<BackupEntry> backup_chain(const std::vector<BackupEntry>& backups, const BackupEntry& last) {
  std::vector<BackupEntry> chain{last};
  while (chain.back().manifest.type == "incremental") {
    const auto& child = chain.back().manifest;
    auto parent = std::find_if(backups.begin(), backups.end(),
                               [&](const BackupEntry& entry) { return entry.manifest.id == child.parent; });
    if (parent == backups.end())
      throw Error(ErrorKind::integrity, "incremental backup '" + child.id + "' continues from backup '" + child.parent +
                                            "', which is not in the repository");
    // Parents are older; this also ends a cycle in a hand-edited manifest.
    if (parent->manifest.started_at >= child.started_at)
      throw Error(ErrorKind::integrity,
                  "incremental backup '" + child.id + "' names a parent '" + child.parent + "' that is not older");
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
