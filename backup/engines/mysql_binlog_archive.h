#pragma once
// Continuous binlog archiving and point-in-time replay for MySQL/MariaDB
// (the engine's archive_logs and replay_logs; see backup/engine.h).
//
// Archiving asks the server to close its active binary log (FLUSH BINARY
// LOGS, needs RELOAD or BINLOG ADMIN) only when something was logged since
// the last pass, then copies each closed log with `mariadb-binlog
// --read-from-remote-server --raw` (needs REPLICATION SLAVE) into the
// archive. Replay runs `mariadb-binlog` over the archived files from the
// backup's position with --stop-datetime, keeping only the restored
// database's events (--rewrite-db, --database), and feeds them to `mariadb`.

#include "backup/engine.h"

namespace dbkeeper {

LogArchivePass archive_binlogs(const Target& target, const LogArchive& archive,
                               const std::vector<std::string>& start_files, const BackupWorkspace& workspace);

void replay_binlogs(const Target& target, const LogReplay& replay, const std::filesystem::path& private_directory);

}  // namespace dbkeeper
