#include "backup/engines/mysql_engine.h"
#include "backup/engines/mysql_scratch_server.h"

#include <algorithm>
#include <set>

#include "backup/dump_stream.h"
#include "backup/engines/mysql_binlog_archive.h"
#include "backup/engines/mysql_client_tools.h"
#include "backup/engines/mysql_database_description.h"
#include "backup/engines/mysql_database_swap.h"
#include "backup/engines/mysql_dump_scanner.h"
#include "backup/engines/mysql_readiness.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

const std::set<std::string> k_system_databases{"information_schema", "performance_schema", "mysql", "sys"};

class MysqlEngine final : public Engine {
 public:
  explicit MysqlEngine(bool mariadb) : m_mariadb(mariadb) {}

  ServerIdentity probe(const Target& target) const override {
    auto options = mysql_connect_options(target);
    options.read_timeout = options.connect_timeout;  // a probe is never slow
    auto connection = MysqlConnection::connect(options);
    return identity(connection);
  }

  DumpResult dump_full(const Target& target, const BackupWorkspace& workspace) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    DumpResult result;
    result.server = identity(connection);
    bool binlog = connection.query("SELECT @@log_bin").scalar().value_or("0") == "1";
    bool mariadb_server = result.server.product == "MariaDB";
    result.databases = target.databases.empty() ? user_databases(connection) : target.databases;

    result.tool = dump_tool();
    result.tool_version = tool_version(result.tool);
    result.row_count_source =
        "counted from the INSERT statements of each dump, so they are the rows in the dump's own snapshot";
    auto credentials = mysql_credentials_file(target, workspace.private_directory);
    bool history = tool_is_mariadb(result.tool_version) && mariadb_server;
    for (const auto& database : result.databases) {
      result.descriptions[database] = describe_mysql_database(connection, database);
      auto precise = transaction_precise_tables(connection, database);
      if (!precise.empty())
        result.descriptions[database].not_carried.push_back(
            "the history of its system-versioned tables: mariadb-dump cannot dump the history of "
            "transaction-precise versioning (table " +
            precise + "), so no history is kept for this database; current rows are");
      ProcessSpec spec;
      spec.argv = mysql_client_arguments(result.tool, target, credentials);
      for (const char* option : {"--single-transaction", "--routines", "--triggers", "--events", "--hex-blob",
                                 "--quick", "--default-character-set=utf8mb4", "--max-allowed-packet=512M"})
        spec.argv.emplace_back(option);
      // System-versioned tables keep their history (row_start/row_end as they were).
      if (history && precise.empty()) spec.argv.emplace_back("--dump-history");
      // The position the snapshot is consistent with; needs the binlog and RELOAD.
      if (binlog) {
        spec.argv.emplace_back("--master-data=2");
        if (mariadb_server && tool_is_mariadb(result.tool_version)) spec.argv.emplace_back("--gtid");
      }
      // After "--" a name is a name, even one that starts with a dash.
      spec.argv.push_back("--");
      spec.argv.push_back(database);

      ArtifactRecord artifact;
      artifact.name = safe_file_name(database) + ".sql.zst";
      artifact.database = database;
      artifact.format = "sql";
      MysqlDumpScanner scanner;
      dump_to_artifact(spec, workspace.artifacts.create(artifact.name), workspace.compression, encryption_key(target),
                       artifact, &scanner, "database '" + database + "' of target '" + target.name + "'");
      if (!scanner.completed())
        throw Error(ErrorKind::integrity, "dump of database '" + database + "' of target '" + target.name +
                                              "' ended without its 'Dump completed' trailer");
      result.tables[database] = scanner.tables();
      artifact.log_position = scanner.position();
      // The first database's snapshot is the earliest: the archive must reach back to it.
      if (result.position.empty()) result.position = scanner.position();
      result.artifacts.push_back(artifact);
    }
    return result;
  }

  bool database_exists(const Target& target, const std::string& database) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    return !connection
                .query("SELECT 1 FROM information_schema.schemata WHERE schema_name = " +
                       connection.quote_string(database))
                .empty();
  }

  void create_database(const Target& target, const std::string& database,
                       const DatabaseProperties& properties) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    // Tables, routines and sequences created without their own character
    // set take the database's: it must be set before the dump is loaded.
    std::string statement = "CREATE DATABASE " + MysqlConnection::quote_identifier(database);
    if (!properties.character_set.empty()) statement += " CHARACTER SET " + properties.character_set;
    if (!properties.collation.empty()) statement += " COLLATE " + properties.collation;
    if (!properties.comment.empty()) statement += " COMMENT " + connection.quote_string(properties.comment);
    connection.execute(statement);
  }

  void drop_database(const Target& target, const std::string& database) const override {
    MysqlConnection::connect(mysql_connect_options(target))
        .execute("DROP DATABASE IF EXISTS " + MysqlConnection::quote_identifier(database));
  }

  void swap_databases(const Target& target, const std::string& name, const std::string& replacement,
                      const std::string& previous) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    swap_mysql_databases(connection, name, replacement, previous);
  }

  std::vector<std::string> databases_with_prefix(const Target& target, const std::string& prefix) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    std::vector<std::string> names;
    for (const auto& row : connection.query("SELECT schema_name FROM information_schema.schemata").rows)
      if (row[0] && row[0]->starts_with(prefix)) names.push_back(*row[0]);
    return names;
  }

  RestoreOutcome restore_artifact(const Target& target, const ArtifactRecord& artifact,
                                  const std::filesystem::path& file, const std::string& database,
                                  const std::filesystem::path& private_directory,
                                  const DatabaseDescription& recorded) const override {
    require_stored_program_loading(target, recorded);
    RestoreOutcome outcome;
    outcome.notes = recorded.not_carried;
    auto credentials = mysql_credentials_file(target, private_directory);
    ProcessSpec spec;
    spec.argv = mysql_client_arguments(first_available_tool({"mariadb", "mysql"}), target, credentials);
    for (const char* option :
         {"--batch", "--binary-mode", "--default-character-set=utf8mb4", "--max-allowed-packet=1G"})
      spec.argv.emplace_back(option);
    spec.argv.push_back("--database=" + database);
    restore_from_artifact(spec, file, artifact, decryption_keys(target),
                          "restore of '" + artifact.name + "' into database '" + database + "'");
    return outcome;
  }

  void prepare_scratch_instance(const Target& instance, const std::vector<ArtifactRecord>& artifacts,
                                const std::filesystem::path& directory, const std::filesystem::path&) const override {
    create_definer_accounts(instance, artifacts, directory);
  }

  std::unique_ptr<ScratchServerRecipe> scratch_server(const Target& target) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    return mysql_scratch_server(connection);
  }

  DatabaseDescription describe_database(const Target& target, const std::string& database) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    return describe_mysql_database(connection, database);
  }

  LogArchivePass archive_logs(const Target& target, const LogArchive& archive,
                              const std::vector<std::string>& start_files,
                              const BackupWorkspace& workspace) const override {
    return archive_binlogs(target, archive, start_files, workspace);
  }

  void replay_logs(const Target& target, const LogReplay& replay,
                   const std::filesystem::path& private_directory) const override {
    replay_binlogs(target, replay, private_directory);
  }

  DumpResult dump_incremental(const Target& target, const BackupManifest& parent,
                              const BackupWorkspace& workspace) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    auto result = dump_binlog_incremental(target, connection, parent, workspace);
    result.server = identity(connection);
    for (const auto& database : result.databases)
      result.descriptions[database] = describe_mysql_database(connection, database);
    return result;
  }

  std::vector<CheckResult> check_server(const Target& target) const override { return check_mysql_server(target); }

  std::vector<TableRecord> count_rows(const Target& target, const std::string& database) const override {
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    return count_table_rows(connection, database);
  }

 private:
  static ServerIdentity identity(MysqlConnection& connection) {
    auto version = connection.query("SELECT VERSION()").scalar().value_or("");
    return ServerIdentity{version.find("MariaDB") != std::string::npos ? "MariaDB" : "MySQL", version};
  }

  static std::vector<std::string> user_databases(MysqlConnection& connection) {
    std::vector<std::string> names;
    for (const auto& row : connection.query("SHOW DATABASES").rows)
      if (row[0] && !k_system_databases.contains(*row[0])) names.push_back(*row[0]);
    return names;
  }

  // With the binary log on, the server refuses CREATE TRIGGER/FUNCTION/
  // PROCEDURE (ERROR 1419) unless the user has SUPER or the server trusts
  // routine creators. Say so before loading anything.
  static void require_stored_program_loading(const Target& target, const DatabaseDescription& recorded) {
    bool stored_programs = std::any_of(recorded.objects.begin(), recorded.objects.end(), [](const ObjectRecord& o) {
      return o.kind == "trigger" || o.kind == "routine";
    });
    if (!stored_programs) return;
    auto connection = MysqlConnection::connect(mysql_connect_options(target));
    auto row = connection.query("SELECT @@log_bin, @@log_bin_trust_function_creators").rows.at(0);
    if (row[0].value_or("0") != "1" || row[1].value_or("0") == "1") return;
    if (global_privileges(connection).contains("SUPER")) return;
    throw Error(ErrorKind::config,
                "target '" + target.name +
                    "': the backup has triggers or routines, and with the binary log on the server loads them only "
                    "for a user with SUPER or with log_bin_trust_function_creators = ON; run SET GLOBAL "
                    "log_bin_trust_function_creators = 1 (and set it in the server's configuration), see "
                    "docs/privileges.md");
  }

  static bool tool_is_mariadb(const std::string& version) { return version.find("MariaDB") != std::string::npos; }

  std::string dump_tool() const {
    return m_mariadb ? first_available_tool({"mariadb-dump", "mysqldump"})
                     : first_available_tool({"mysqldump", "mariadb-dump"});
  }

  bool m_mariadb;
};

}  // namespace

std::string transaction_precise_tables(MysqlConnection& connection, const std::string& database) {
  // Transaction-precise versioning keeps its period in BIGINT UNSIGNED columns.
  auto rows = connection.query(
      "SELECT GROUP_CONCAT(DISTINCT c.table_name ORDER BY c.table_name SEPARATOR ', ') FROM information_schema.columns "
      "c "
      "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
      "WHERE t.table_type = 'SYSTEM VERSIONED' AND c.generation_expression = 'ROW START' AND c.data_type = 'bigint' "
      "AND c.table_schema = " +
      connection.quote_string(database));
  return rows.empty() ? "" : rows.rows[0][0].value_or("");
}

std::vector<TableRecord> count_table_rows(MysqlConnection& connection, const std::string& database) {
  std::vector<TableRecord> tables;
  // A system-versioned table's dump holds its history rows too
  // (--dump-history), unless the database has a table whose history
  // mariadb-dump cannot dump; the rule depends on the schema alone, so the
  // source and its copy count alike.
  bool history = transaction_precise_tables(connection, database).empty();
  auto names = connection.query(
      "SELECT table_name, table_type FROM information_schema.tables WHERE table_type IN ('BASE TABLE', 'SYSTEM "
      "VERSIONED') AND table_schema = " +
      connection.quote_string(database) + " ORDER BY table_name");
  for (const auto& row : names.rows) {
    bool versioned = history && row[1].value_or("") == "SYSTEM VERSIONED";
    auto count =
        connection.query("SELECT COUNT(*) FROM " + MysqlConnection::quote_identifier(database) + "." +
                         MysqlConnection::quote_identifier(*row[0]) + (versioned ? " FOR SYSTEM_TIME ALL" : ""));
    tables.push_back({*row[0], std::stoull(count.scalar().value_or("0"))});
  }
  return tables;
}

std::unique_ptr<Engine> make_mysql_engine(bool mariadb) {
  return std::make_unique<MysqlEngine>(mariadb);
}

std::string safe_file_name(const std::string& name) {
  // Database names may hold any character; file names get a conservative
  // spelling plus a hash-free escape that stays readable.
  std::string result;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
      result += static_cast<char>(c);
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "@%02x", c);
      result += escaped;
    }
  }
  if (result.empty() || result.front() == '.') result = "@" + result;
  return result;
}

MysqlConnectOptions mysql_connect_options(const Target& target) {
  MysqlConnectOptions options;
  options.host = target.host;
  options.port = target.port;
  options.socket = target.socket;
  options.user = target.user;
  options.password = target.password.reveal();
  options.connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(target.connect_timeout);
  if (options.connect_timeout.count() < 1) options.connect_timeout = std::chrono::seconds(1);
  // Counting rows of a large table takes a while; connects stay bounded.
  options.read_timeout = std::chrono::hours(1);
  if (target.unlogged_session) options.init_command = k_unlogged_session_statement;
  return options;
}

}  // namespace dbkeeper
