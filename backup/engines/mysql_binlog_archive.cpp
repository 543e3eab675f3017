#include "backup/engines/mysql_binlog_archive.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "backup/dump_stream.h"
#include "backup/engines/mysql_client_tools.h"
#include "backup/engines/mysql_engine.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

namespace fs = std::filesystem;

struct ServerLogPosition {
  std::string file;
  std::uint64_t position = 0;
};

ServerLogPosition active_position(MysqlConnection& connection) {
  auto status = connection.query("SHOW MASTER STATUS");
  if (status.empty() || !status.rows[0][0] || !status.rows[0][1])
    throw Error(ErrorKind::query, "SHOW MASTER STATUS returned nothing: is the binary log on?");
  return {*status.rows[0][0], std::stoull(*status.rows[0][1])};
}

std::vector<std::string> server_log_files(MysqlConnection& connection) {
  std::vector<std::string> names;
  for (const auto& row : connection.query("SHOW BINARY LOGS").rows)
    if (row[0]) names.push_back(*row[0]);
  return names;
}

// Copies binary log `name` from the server, byte for byte, into `directory`.
fs::path copy_binlog(const Target& target, const std::string& tool, const std::optional<PrivateFile>& credentials,
                     const std::string& name, const fs::path& directory) {
  ProcessSpec spec;
  spec.argv = mysql_client_arguments(tool, target, credentials);
  spec.argv.insert(spec.argv.end(),
                   {"--read-from-remote-server", "--raw", "--result-file=" + directory.string() + "/", name});
  run_tool(spec, "binary log '" + name + "' of target '" + target.name + "'");
  return directory / name;
}

// Whether `tool --help` lists `option` (tools of different releases differ).
bool knows_option(const std::string& tool, const std::string& option) {
  try {
    auto help = run_process(ProcessSpec{.argv = {tool, "--no-defaults", "--help"}}, std::chrono::seconds(10));
    return help.stdout_text.find(option) != std::string::npos;
  } catch (const Error&) {
    return false;
  }
}

std::uint64_t require_sequence(const std::string& name) {
  auto sequence = log_file_sequence(name);
  if (!sequence) throw Error(ErrorKind::integrity, "binary log '" + name + "' has no numeric suffix");
  return *sequence;
}

// The closed logs this pass archives, oldest first.
std::vector<std::string> logs_to_archive(const std::vector<std::string>& closed,
                                         const std::vector<LogSegment>& segments,
                                         const std::vector<std::string>& start_files) {
  if (!segments.empty()) {
    std::vector<std::string> newer;
    for (const auto& name : closed)
      if (require_sequence(name) > segments.back().sequence) newer.push_back(name);
    return newer;
  }
  if (closed.empty()) return {};
  // A new archive starts where the oldest full backup can use it; without
  // one, with the log just closed.
  auto start = closed.end() - 1;
  for (const auto& wanted : start_files)
    if (auto found = std::find(closed.begin(), closed.end(), wanted); found != closed.end()) {
      start = found;
      break;
    }
  return {start, closed.end()};
}

}  // namespace

LogArchivePass archive_binlogs(const Target& target, const LogArchive& archive,
                               const std::vector<std::string>& start_files, const BackupWorkspace& workspace) {
  auto connection = MysqlConnection::connect(mysql_connect_options(target));
  if (connection.query("SELECT @@log_bin").scalar().value_or("0") != "1")
    throw Error(ErrorKind::config, "the binary log is off on target '" + target.name +
                                       "' (start the server with log_bin): there is nothing to archive");
  LogArchivePass pass;
  // Milliseconds: what the archive's records hold, so a restore to exactly
  // this moment matches what the repository reads back.
  auto pass_start = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto before = active_position(connection);
  auto previous = archive.progress();
  auto segments = archive.segments();
  // Nothing logged since the last pass: the archive is complete up to now
  // without closing another (nearly empty) log.
  if (!previous || previous->active_file != before.file || previous->active_position != before.position) {
    connection.execute("FLUSH BINARY LOGS");
    pass.rotated = true;
  }
  auto files = server_log_files(connection);
  auto active = active_position(connection).file;
  std::vector<std::string> closed(files.begin(), std::find(files.begin(), files.end(), active));

  // Numbering that goes back means RESET MASTER or another server: nothing
  // it logs could ever be archived after what we hold, so say so every pass.
  if (!segments.empty() && require_sequence(active) <= segments.back().sequence)
    throw Error(ErrorKind::integrity, "the binary log numbering of target '" + target.name +
                                          "' went back (the server writes " + active + ", the archive already holds " +
                                          segments.back().name +
                                          "): RESET MASTER, or another server answers; take a full backup and move '" +
                                          archive.directory().string() + "' aside to start a new archive");
  auto to_archive = logs_to_archive(closed, segments, start_files);
  std::string tool = first_available_tool({"mariadb-binlog", "mysqlbinlog"});
  auto credentials = mysql_credentials_file(target, workspace.private_directory);
  const LogSegment* last = segments.empty() ? nullptr : &segments.back();
  for (const auto& name : to_archive) {
    LogSegment segment;
    segment.name = name;
    segment.sequence = require_sequence(name);
    if (last && segment.sequence == last->sequence + 1) {
      segment.previous = last->name;
    } else if (last) {
      spdlog::error(
          "binary logs of target '{}' after '{}' up to '{}' were purged before they were archived; "
          "point-in-time restores cannot cross that gap",
          target.name, last->name, name);
    }
    auto raw = copy_binlog(target, tool, credentials, name, workspace.private_directory);
    segment.archived_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    segment.closed_before = pass_start;
    segment.opened_at = binlog_opened_at(raw);
    archive.store(raw, segment, workspace.compression, encryption_key(target));
    fs::remove(raw);
    pass.stored.push_back(segment);
    last = &pass.stored.back();
  }
  // Read last: anything logged while this pass ran makes the next one rotate.
  auto after = active_position(connection);
  pass.progress = LogArchiveProgress{pass_start, after.file, after.position};
  archive.write_progress(pass.progress);
  return pass;
}

void replay_binlogs(const Target& target, const LogReplay& replay, const fs::path& private_directory) {
  if (replay.files.empty()) return;
  std::string tool = first_available_tool({"mariadb-binlog", "mysqlbinlog"});
  // MariaDB's tool filters --database on the name as logged, MySQL's on
  // the rewritten one.
  auto version = tool_version(tool);
  bool mariadb_tool = version.find("mariadb") != std::string::npos || version.find("MariaDB") != std::string::npos;
  // --stop-datetime is read in the tool's local time; UTC keeps it exact.
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(replay.until);
  std::string stop = format_utc(seconds).substr(0, 19);
  stop[10] = ' ';
  ProcessSpec decode;
  decode.argv = {
      tool, "--no-defaults", "--start-position=" + std::to_string(replay.start.binlog_position),
      // An incremental ends at a position (in the last file), a point in time at a second.
      replay.stop ? "--stop-position=" + std::to_string(replay.stop->binlog_position) : "--stop-datetime=" + stop,
      "--rewrite-db=" + replay.from_database + "->" + replay.to_database,
      "--database=" + (mariadb_tool ? replay.from_database : replay.to_database)};
  // The replayed changes are new transactions of this server: they must
  // not reuse the original GTIDs (strict mode refuses them, replicas would
  // skip them as already applied).
  if (!mariadb_tool) decode.argv.push_back("--skip-gtids");
  // The replay follows positions, not GTIDs: a GTID that goes back (logged
  // by a server without gtid_strict_mode, after a manual replay, say) must
  // not stop it, and mariadb-binlog 10.8+ stops there unless told not to.
  if (mariadb_tool && knows_option(tool, "gtid-strict-mode")) decode.argv.push_back("--skip-gtid-strict-mode");
  for (const auto& file : replay.files) decode.argv.push_back(file.string());
  decode.environment.emplace_back("TZ", "UTC");

  auto credentials = mysql_credentials_file(target, private_directory);
  ProcessSpec apply;
  apply.argv = mysql_client_arguments(first_available_tool({"mariadb", "mysql"}), target, credentials);
  for (const char* option : {"--batch", "--binary-mode", "--max-allowed-packet=1G"}) apply.argv.emplace_back(option);
  apply.argv.push_back("--database=" + replay.to_database);
  pipe_tools(decode, apply,
             {"/*M!100001 SET @@session.gtid_seq_no=", "/*M!100001 SET @@session.gtid_domain_id=",
              "/*M!100001 SET @@session.server_id="},
             "replaying the binary logs of target '" + target.name + "' into database '" + replay.to_database + "'");
}

namespace {

// The binlog position a new consistent snapshot sees, with the snapshot
// left open on `connection` for counting rows in it.
ServerLogPosition open_consistent_snapshot(MysqlConnection& connection) {
  bool mariadb = connection.query("SELECT VERSION()").scalar().value_or("").find("MariaDB") != std::string::npos;
  if (mariadb) {
    // MariaDB reports the position its snapshot is consistent with: no lock.
    connection.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
    ServerLogPosition position;
    for (const auto& row : connection.query("SHOW STATUS LIKE 'binlog_snapshot_%'").rows) {
      if (!row[0] || !row[1]) continue;
      if (*row[0] == "Binlog_snapshot_file") position.file = *row[1];
      if (*row[0] == "Binlog_snapshot_position") position.position = std::stoull(*row[1]);
    }
    if (position.file.empty()) throw Error(ErrorKind::query, "the server reported no Binlog_snapshot_file");
    return position;
  }
  // MySQL: hold writes for as long as it takes to start the snapshot.
  connection.execute("FLUSH TABLES WITH READ LOCK");
  try {
    connection.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
    auto position = active_position(connection);
    connection.execute("UNLOCK TABLES");
    return position;
  } catch (...) {
    connection.execute("UNLOCK TABLES");
    throw;
  }
}

}  // namespace

DumpResult dump_binlog_incremental(const Target& target, MysqlConnection& connection, const BackupManifest& parent,
                                   const BackupWorkspace& workspace) {
  if (connection.query("SELECT @@log_bin").scalar().value_or("0") != "1")
    throw Error(ErrorKind::config, "the binary log is off on target '" + target.name +
                                       "' (start the server with log_bin): incremental backups are made of it");
  const auto& parent_file = parent.log_position.binlog_file;
  if (parent_file.empty())
    throw Error(ErrorKind::config,
                "backup '" + parent.id + "' has no binary log position (was the binary log off?); take a full backup");
  DumpResult result;
  result.databases = target.databases.empty() ? parent.databases : target.databases;
  if (result.databases != parent.databases)
    throw Error(ErrorKind::config, "the databases of target '" + target.name + "' changed since backup '" + parent.id +
                                       "'; take a full backup");

  auto end = open_consistent_snapshot(connection);
  for (const auto& database : result.databases) result.tables[database] = count_table_rows(connection, database);
  connection.execute("COMMIT");
  // Closes the log holding the end, so the copy below is whole and the next
  // incremental starts in a later file.
  connection.execute("FLUSH BINARY LOGS");

  // A full backup's file holds events before and after its snapshot; an
  // incremental copied its end file whole, after closing it.
  auto first = require_sequence(parent_file) + (parent.type == "full" ? 0 : 1);
  auto last = require_sequence(end.file);
  if (last + 1 < first)
    throw Error(ErrorKind::integrity, "the binary log numbering of target '" + target.name + "' went back (now " +
                                          end.file + ", backup '" + parent.id + "' ended in " + parent_file +
                                          "): RESET MASTER, or another server answers; take a full backup");
  std::map<std::uint64_t, std::string> on_server;
  for (const auto& name : server_log_files(connection))
    if (auto sequence = log_file_sequence(name)) on_server[*sequence] = name;
  std::string tool = first_available_tool({"mariadb-binlog", "mysqlbinlog"});
  auto credentials = mysql_credentials_file(target, workspace.private_directory);
  for (auto sequence = first; sequence <= last; ++sequence) {
    auto found = on_server.find(sequence);
    if (found == on_server.end())
      throw Error(ErrorKind::integrity, "binary log number " + std::to_string(sequence) + " of target '" + target.name +
                                            "', needed since backup '" + parent.id +
                                            "', is no longer on the server (purged); take a full backup");
    const auto& name = found->second;
    auto raw = copy_binlog(target, tool, credentials, name, workspace.private_directory);
    ArtifactRecord artifact;
    artifact.name = name + ".zst";
    artifact.format = "binlog";
    {
      ArtifactWriter writer(workspace.artifacts.create(artifact.name), workspace.compression, encryption_key(target));
      pump_file(raw, writer);
      writer.describe(artifact);
    }
    fs::remove(raw);
    result.artifacts.push_back(artifact);
  }
  result.tool = tool;
  result.tool_version = tool_version(tool);
  result.position.binlog_file = end.file;
  result.position.binlog_position = end.position;
  result.row_count_source = "counted with SELECT COUNT(*) in the consistent snapshot the binary logs are copied up to";
  return result;
}

}  // namespace dbkeeper
