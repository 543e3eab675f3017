#include "backup/engines/postgres_engine.h"

#include <future>

#include "backup/client_credentials.h"
#include "backup/dump_stream.h"
#include "backup/engines/mysql_engine.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

// Base tables whose rows pg_dump writes: not system catalogs, not members
// of extensions (those come back with CREATE EXTENSION).
constexpr const char* k_user_tables = R"(
  SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')
  ORDER BY 1, 2)";

std::vector<TableRecord> count_tables(PostgresConnection& connection) {
  std::vector<TableRecord> tables;
  for (const auto& row : connection.query(k_user_tables).rows) {
    std::string qualified =
        PostgresConnection::quote_identifier(*row[0]) + "." + PostgresConnection::quote_identifier(*row[1]);
    auto count = connection.query("SELECT count(*) FROM " + qualified).scalar().value_or("0");
    tables.push_back({*row[0] + "." + *row[1], std::stoull(count)});
  }
  return tables;
}

class PostgresEngine final : public Engine {
 public:
  ServerIdentity probe(const Target& target) const override {
    auto options = postgres_connect_options(target);
    options.statement_timeout = std::max(options.connect_timeout, std::chrono::seconds(1));
    auto connection = PostgresConnection::connect(options);
    connection.query("SELECT 1");
    return ServerIdentity{"PostgreSQL", connection.server_version()};
  }

  DumpResult dump_full(const Target& target, const BackupWorkspace& workspace) const override {
    auto connection = PostgresConnection::connect(postgres_connect_options(target));
    DumpResult result;
    result.server = ServerIdentity{"PostgreSQL", connection.server_version()};
    int major =
        std::stoi(connection.query("SELECT current_setting('server_version_num')").scalar().value_or("0")) / 10000;
    if (target.databases.empty()) {
      for (const auto& row :
           connection.query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1").rows)
        result.databases.push_back(*row[0]);
    } else {
      result.databases = target.databases;
    }
    std::string pg_dump = tool_path("pg_dump", major);
    result.tool = pg_dump;
    result.tool_version = tool_version(pg_dump);
    result.row_count_source =
        "counted with count(*) inside the snapshot that pg_dump used (exported with pg_export_snapshot)";
    auto credentials = credentials_file(target, workspace.private_directory);

    for (const auto& database : result.databases) {
      // Our transaction exports its snapshot; pg_dump imports it, so the
      // counts below and the dump see exactly the same rows.
      auto snapshot_holder = PostgresConnection::connect(postgres_connect_options(target, database));
      snapshot_holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      std::string snapshot = snapshot_holder.query("SELECT pg_export_snapshot()").scalar().value_or("");
      std::string lsn = snapshot_holder
                            .query(
                                "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                                "ELSE pg_current_wal_lsn() END")
                            .scalar()
                            .value_or("");
      if (result.position.empty()) result.position.wal_lsn = lsn;

      std::string context = "database '" + database + "' of target '" + target.name + "'";
      ProcessSpec spec = tool_spec(pg_dump, target, credentials);
      spec.argv.push_back("--no-password");
      spec.argv.push_back("--snapshot=" + snapshot);
      spec.argv.push_back("--dbname=" + database);
      ArtifactRecord artifact;
      bool parallel = target.backup.parallel > 1;
      if (parallel) {
        if (encryption_key(target))
          throw Error(ErrorKind::config, "target '" + target.name +
                                             "': parallel dumps are written by pg_dump itself and cannot be "
                                             "encrypted; use parallel = 1 with encryption_key_file");
        // pg_dump's workers write (and gzip) one file per table themselves;
        // each file is then checksummed into the manifest.
        artifact.name = safe_file_name(database) + ".pgdir";
        spec.argv.push_back("--format=directory");
        spec.argv.push_back("--jobs=" + std::to_string(target.backup.parallel));
        spec.argv.push_back("--file=" + (workspace.directory / artifact.name).string());
      } else {
        artifact.name = safe_file_name(database) + ".pgdump.zst";
        artifact.format = "pg_custom";
        spec.argv.push_back("--format=custom");
        spec.argv.push_back("--compress=0");
      }
      artifact.database = database;
      auto cancel = snapshot_holder.cancel_handle();
      auto counting = std::async(std::launch::async, [&] { return count_tables(snapshot_holder); });
      try {
        if (parallel) {
          run_tool(spec, context);
          artifact =
              describe_directory_artifact(workspace.directory / artifact.name, artifact.name, database, "pg_directory");
        } else {
          dump_to_artifact(spec, workspace.directory / artifact.name, workspace.compression, encryption_key(target),
                           artifact, nullptr, context);
        }
      } catch (...) {
        // The count may be waiting on the same lock the dump waited on.
        cancel.cancel();
        try {
          counting.get();
        } catch (...) {
        }
        throw;
      }
      result.tables[database] = counting.get();
      snapshot_holder.execute("COMMIT");
      result.artifacts.push_back(artifact);
    }

    // Roles and tablespaces live outside every database.
    ProcessSpec globals = tool_spec(tool_path("pg_dumpall", major), target, credentials);
    for (const char* option : {"--globals-only", "--no-password"}) globals.argv.emplace_back(option);
    // Password hashes are secrets too; they stay out unless asked for.
    if (!target.backup.role_passwords) globals.argv.emplace_back("--no-role-passwords");
    globals.argv.push_back("--database=" + postgres_connect_options(target).database);
    ArtifactRecord artifact;
    artifact.name = "globals.sql.zst";
    artifact.format = "pg_globals_sql";
    dump_to_artifact(globals, workspace.directory / artifact.name, workspace.compression, encryption_key(target),
                     artifact, nullptr, "roles of target '" + target.name + "'");
    result.artifacts.push_back(artifact);
    return result;
  }

  bool database_exists(const Target& target, const std::string& database) const override {
    auto connection = maintenance_connection(target, database);
    return !connection.query("SELECT 1 FROM pg_database WHERE datname = " + literal(database)).empty();
  }

  void create_database(const Target& target, const std::string& database) const override {
    maintenance_connection(target, database)
        .execute("CREATE DATABASE " + PostgresConnection::quote_identifier(database) + " TEMPLATE template0");
  }

  void drop_database(const Target& target, const std::string& database) const override {
    maintenance_connection(target, database)
        .execute("DROP DATABASE IF EXISTS " + PostgresConnection::quote_identifier(database) + " WITH (FORCE)");
  }

  std::vector<std::string> databases_with_prefix(const Target& target, const std::string& prefix) const override {
    auto connection = maintenance_connection(target, "");
    std::vector<std::string> names;
    for (const auto& row : connection.query("SELECT datname FROM pg_database").rows)
      if (row[0] && row[0]->starts_with(prefix)) names.push_back(*row[0]);
    return names;
  }

  void restore_artifact(const Target& target, const ArtifactRecord& artifact, const std::filesystem::path& file,
                        const std::string& database, const std::filesystem::path& private_directory) const override {
    if (artifact.format != "pg_custom" && artifact.format != "pg_directory")
      throw Error(ErrorKind::internal, "artifact '" + artifact.name + "' is not a database dump");
    auto credentials = credentials_file(target, private_directory);
    auto connection = PostgresConnection::connect(postgres_connect_options(target));
    int major =
        std::stoi(connection.query("SELECT current_setting('server_version_num')").scalar().value_or("0")) / 10000;
    ProcessSpec spec = tool_spec(tool_path("pg_restore", major), target, credentials);
    spec.argv.push_back("--no-password");
    spec.argv.push_back("--exit-on-error");
    spec.argv.push_back("--dbname=" + database);
    std::string context = "restore of '" + artifact.name + "' into database '" + database + "'";
    if (artifact.format == "pg_directory") {
      // --jobs cannot run in one transaction; a failed restore is dropped by the caller.
      spec.argv.push_back("--format=directory");
      spec.argv.push_back("--jobs=" + std::to_string(std::max(1, target.backup.parallel)));
      spec.argv.push_back(file.string());
      run_tool(spec, context);
      return;
    }
    spec.argv.push_back("--single-transaction");
    restore_from_artifact(spec, file, artifact, decryption_keys(target), context);
  }

  // The engine table says why these do not exist (engine_registry.cpp).
  LogArchivePass archive_logs(const Target& target, const LogArchive&, const std::vector<std::string>&,
                              const BackupWorkspace&) const override {
    require_log_archive(target);
    return {};
  }

  void replay_logs(const Target& target, const LogReplay&, const std::filesystem::path&) const override {
    require_log_archive(target);
  }

  DumpResult dump_incremental(const Target& target, const BackupManifest&, const BackupWorkspace&) const override {
    require_incremental_backups(target);
    return {};
  }

  std::vector<TableRecord> count_rows(const Target& target, const std::string& database) const override {
    auto connection = PostgresConnection::connect(postgres_connect_options(target, database));
    return count_tables(connection);
  }

 private:
  static std::string literal(const std::string& text) {
    std::string quoted = "'";
    for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    return quoted + "'";
  }

  // CREATE/DROP DATABASE run from another database than the one they touch.
  static PostgresConnection maintenance_connection(const Target& target, const std::string& avoid) {
    auto options = postgres_connect_options(target);
    if (options.database == avoid) options.database = avoid == "postgres" ? "template1" : "postgres";
    return PostgresConnection::connect(options);
  }

  // The client tools of the server's major version when installed (pg_dump
  // refuses servers newer than itself), else whatever PATH has.
  static std::string tool_path(const std::string& name, int major) {
    std::filesystem::path versioned = "/usr/lib/postgresql/" + std::to_string(major) + "/bin/" + name;
    if (std::filesystem::exists(versioned)) return versioned.string();
    if (auto found = find_executable(name)) return found->string();
    throw Error(ErrorKind::process,
                name + " is not installed (install postgresql-client-" + std::to_string(major) + ")");
  }

  static std::optional<PrivateFile> credentials_file(const Target& target, const std::filesystem::path& directory) {
    if (target.password.empty()) return std::nullopt;
    return write_pgpass_file(directory, target.password);
  }

  static ProcessSpec tool_spec(const std::string& program, const Target& target,
                               const std::optional<PrivateFile>& credentials) {
    ProcessSpec spec;
    spec.argv = {program, "--host=" + (target.socket.empty() ? target.host : target.socket),
                 "--port=" + std::to_string(target.port), "--username=" + target.user};
    spec.unset_environment = {"PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGOPTIONS"};
    if (credentials) spec.environment.emplace_back("PGPASSFILE", credentials->path().string());
    spec.environment.emplace_back(
        "PGCONNECT_TIMEOUT", std::to_string(std::max<long>(
                                 2, std::chrono::duration_cast<std::chrono::seconds>(target.connect_timeout).count())));
    return spec;
  }
};

}  // namespace

std::unique_ptr<Engine> make_postgres_engine() {
  return std::make_unique<PostgresEngine>();
}

PostgresConnectOptions postgres_connect_options(const Target& target, const std::string& database) {
  PostgresConnectOptions options;
  options.host = target.socket.empty() ? target.host : target.socket;
  options.port = target.port;
  options.user = target.user;
  options.password = target.password.reveal();
  if (!database.empty())
    options.database = database;
  else if (!target.databases.empty())
    options.database = target.databases.front();
  options.connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(target.connect_timeout);
  // Counting the rows of a large table must not hit a statement timeout.
  options.statement_timeout = std::chrono::hours(24);
  return options;
}

}  // namespace dbkeeper
