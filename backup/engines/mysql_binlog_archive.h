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
#include "core/mysql_connection.h"

namespace dbkeeper {

LogArchivePass archive_binlogs(const Target& target, const LogArchive& archive,
                               const std::vector<std::string>& start_files, const BackupWorkspace& workspace);

void replay_binlogs(const Target& target, const LogReplay& replay, const std::filesystem::path& private_directory);

// An incremental backup: a consistent snapshot (MariaDB: START TRANSACTION
// WITH CONSISTENT SNAPSHOT and its binlog_snapshot_* position; MySQL: the
// same under a brief FLUSH TABLES WITH READ LOCK) in which every table is
// counted, then FLUSH BINARY LOGS and a copy of every binary log from the
// parent's end to the snapshot's position, one artifact each.
DumpResult dump_binlog_incremental(const Target& target, MysqlConnection& connection, const BackupManifest& parent,
                                   const BackupWorkspace& workspace);

}  // namespace dbkeeper
