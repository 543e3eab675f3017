#include "backup/engines/postgres_engine.h"

#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "backup/client_credentials.h"
#include "backup/dump_stream.h"
#include "backup/engines/mysql_engine.h"
#include "backup/engines/postgres_database_description.h"
#include "backup/engines/postgres_readiness.h"
#include "backup/engines/postgres_scratch_server.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

// Tables whose rows pg_dump writes: not system catalogs, not members of
// extensions (those come back with CREATE EXTENSION). A partitioned table
// holds no rows itself; each partition is counted once, as a table.
constexpr const char* k_user_tables = R"(
  SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
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
      // pg_dump reads a --dbname holding '=' as a connection string.
      spec.argv.push_back("--dbname=dbname=" + connection_string_value(database));
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
        spec.argv.push_back("--file=" + workspace.artifacts.directory_for(artifact.name).string());
      } else {
        artifact.name = safe_file_name(database) + ".pgdump.zst";
        artifact.format = "pg_custom";
        spec.argv.push_back("--format=custom");
        spec.argv.push_back("--compress=0");
      }
      artifact.database = database;
      auto cancel = snapshot_holder.cancel_handle();
      // In the snapshot pg_dump imports, beside it: reading the catalogs of
      // a locked table waits like pg_dump does, never in front of it.
      auto counting = std::async(std::launch::async, [&] {
        result.descriptions[database] = describe_postgres_database(snapshot_holder);
        return count_tables(snapshot_holder);
      });
      try {
        if (parallel) {
          run_tool(spec, context);
          artifact = describe_directory_artifact(workspace.artifacts.directory_for(artifact.name), artifact.name,
                                                 database, "pg_directory");
          workspace.artifacts.store_directory(artifact.name);
        } else {
          dump_to_artifact(spec, workspace.artifacts.create(artifact.name), workspace.compression,
                           encryption_key(target), artifact, nullptr, context);
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
    globals.argv.push_back("--dbname=dbname=" + connection_string_value(postgres_connect_options(target).database));
    ArtifactRecord artifact;
    artifact.name = "globals.sql.zst";
    artifact.format = "pg_globals_sql";
    dump_to_artifact(globals, workspace.artifacts.create(artifact.name), workspace.compression, encryption_key(target),
                     artifact, nullptr, "roles of target '" + target.name + "'");
    result.artifacts.push_back(artifact);
    return result;
  }

  bool database_exists(const Target& target, const std::string& database) const override {
    auto connection = maintenance_connection(target, database);
    return !connection.query("SELECT 1 FROM pg_database WHERE datname = " + literal(database)).empty();
  }

  void create_database(const Target& target, const std::string& database,
                       const DatabaseProperties& properties) const override {
    std::string statement = "CREATE DATABASE " + PostgresConnection::quote_identifier(database) + " TEMPLATE template0";
    if (!properties.encoding.empty()) statement += " ENCODING " + literal(properties.encoding);
    if (!properties.lc_collate.empty()) statement += " LC_COLLATE " + literal(properties.lc_collate);
    if (!properties.lc_ctype.empty()) statement += " LC_CTYPE " + literal(properties.lc_ctype);
    if (properties.locale_provider == "icu")
      statement += " LOCALE_PROVIDER icu ICU_LOCALE " + literal(properties.icu_locale);
    maintenance_connection(target, database).execute(statement);
  }

  void drop_database(const Target& target, const std::string& database) const override {
    maintenance_connection(target, database)
        .execute("DROP DATABASE IF EXISTS " + PostgresConnection::quote_identifier(database) + " WITH (FORCE)");
  }

  void swap_databases(const Target& target, const std::string& name, const std::string& replacement,
                      const std::string& previous) const override {
    auto connection = maintenance_connection(target, name);
    // A database with sessions cannot be renamed. They are ended only now,
    // at the swap; one that reconnects in between makes the rename fail,
    // and it is tried again.
    for (int attempt = 1;; ++attempt) {
      // Sessions of roles it may signal (pg_signal_backend; never a
      // superuser's): any other makes the rename fail and say so.
      connection.query(
          "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid "
          "WHERE a.datname IN (" +
          literal(name) + ", " + literal(replacement) + ") AND a.pid <> pg_backend_pid() AND NOT r.rolsuper");
      try {
        connection.execute("BEGIN");
        connection.execute("ALTER DATABASE " + PostgresConnection::quote_identifier(name) + " RENAME TO " +
                           PostgresConnection::quote_identifier(previous));
        connection.execute("ALTER DATABASE " + PostgresConnection::quote_identifier(replacement) + " RENAME TO " +
                           PostgresConnection::quote_identifier(name));
        connection.execute("COMMIT");
        return;
      } catch (const Error& e) {
        try {
          connection.execute("ROLLBACK");
        } catch (const Error&) {
        }
        if (attempt == 5) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
      }
    }
  }

  std::vector<std::string> databases_with_prefix(const Target& target, const std::string& prefix) const override {
    auto connection = maintenance_connection(target, "");
    std::vector<std::string> names;
    for (const auto& row : connection.query("SELECT datname FROM pg_database").rows)
      if (row[0] && row[0]->starts_with(prefix)) names.push_back(*row[0]);
    return names;
  }

  RestoreOutcome restore_artifact(const Target& target, const ArtifactRecord& artifact,
                                  const std::filesystem::path& file, const std::string& database,
                                  const std::filesystem::path& private_directory,
                                  const DatabaseDescription& recorded) const override {
    if (artifact.format != "pg_custom" && artifact.format != "pg_directory")
      throw Error(ErrorKind::internal, "artifact '" + artifact.name + "' is not a database dump");
    RestoreOutcome outcome;
    outcome.scope.owners = target.restore.owner == "keep";
    outcome.scope.grants = target.restore.privileges;
    auto credentials = credentials_file(target, private_directory);
    auto connection = PostgresConnection::connect(postgres_connect_options(target, database));
    int major =
        std::stoi(connection.query("SELECT current_setting('server_version_num')").scalar().value_or("0")) / 10000;
    std::string pg_restore = tool_path("pg_restore", major);
    ProcessSpec spec = tool_spec(pg_restore, target, credentials);
    spec.argv.push_back("--no-password");
    spec.argv.push_back("--exit-on-error");
    // A database name is a name: pg_restore reads a --dbname holding '=' as a connection string.
    spec.argv.push_back("--dbname=dbname=" + connection_string_value(database));
    bool superuser =
        connection.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar().value_or("f") == "t";
    // Without superuser, pg_restore's ALTER … OWNER TO right after each
    // CREATE fails wherever the owner's CREATE on the schema is only granted
    // by an ACL restored later; so load as ourselves and give every object
    // back to its owner at the end.
    bool reassign = target.restore.owner == "keep" && !superuser;
    if (target.restore.owner != "keep" || reassign) spec.argv.push_back("--no-owner");
    if (target.restore.owner != "keep" && target.restore.owner != "restoring-user")
      spec.argv.push_back("--role=" + target.restore.owner);
    if (!target.restore.privileges) spec.argv.push_back("--no-acl");

    outcome.scope.skipped_extensions = extensions_to_skip(connection, recorded.properties, outcome.notes);
    if (!outcome.scope.skipped_extensions.empty()) {
      auto list = private_directory / "restore.list";
      write_restore_list(tool_spec(pg_restore, target, credentials), artifact, file, target, list,
                         outcome.scope.skipped_extensions);
      spec.argv.push_back("--use-list=" + list.string());
    }

    std::string context = "restore of '" + artifact.name + "' into database '" + database + "'";
    if (artifact.format == "pg_directory") {
      // --jobs cannot run in one transaction; a failed restore is dropped by the caller.
      spec.argv.push_back("--format=directory");
      spec.argv.push_back("--jobs=" + std::to_string(std::max(1, target.backup.parallel)));
      spec.argv.push_back(file.string());
      run_tool(spec, context);
    } else {
      spec.argv.push_back("--single-transaction");
      restore_from_artifact(spec, file, artifact, decryption_keys(target), context);
    }
    // The database's owner first: through pg_database_owner it owns the
    // public schema, where it needs CREATE to be given its own tables.
    set_database_owner(target, connection, database, recorded.properties);
    if (reassign) give_back_ownership(target, connection, recorded);
    apply_database_properties(target, connection, database, recorded.properties, outcome.notes);
    return outcome;
  }

  void prepare_scratch_instance(const Target& target, const std::vector<ArtifactRecord>& artifacts,
                                const std::filesystem::path& directory,
                                const std::filesystem::path& private_directory) const override {
    for (const auto& artifact : artifacts)
      if (artifact.format == "pg_globals_sql")
        load_globals(target, artifact, directory / artifact.name, private_directory);
  }

  static void load_globals(const Target& target, const ArtifactRecord& artifact, const std::filesystem::path& file,
                           const std::filesystem::path& private_directory) {
    auto credentials = credentials_file(target, private_directory);
    auto connection = PostgresConnection::connect(postgres_connect_options(target));
    int major =
        std::stoi(connection.query("SELECT current_setting('server_version_num')").scalar().value_or("0")) / 10000;
    ProcessSpec spec = tool_spec(tool_path("psql", major), target, credentials);
    // Without ON_ERROR_STOP a statement that fails (CREATE ROLE of a role
    // the instance has) is reported and the rest still runs.
    for (const char* option : {"--no-password", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=0"})
      spec.argv.emplace_back(option);
    spec.argv.push_back("--dbname=dbname=" + connection_string_value(postgres_connect_options(target).database));
    restore_from_artifact(spec, file, artifact, decryption_keys(target),
                          "restore of the roles in '" + artifact.name + "'");
  }

  std::unique_ptr<ScratchServerRecipe> scratch_server(const Target& target) const override {
    auto connection = PostgresConnection::connect(postgres_connect_options(target));
    return postgres_scratch_server(connection, target.backup.parallel);
  }

  DatabaseDescription describe_database(const Target& target, const std::string& database) const override {
    auto connection = PostgresConnection::connect(postgres_connect_options(target, database));
    return describe_postgres_database(connection);
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

  std::vector<CheckResult> check_server(const Target& target) const override { return check_postgres_server(target); }

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

  // A value inside a libpq connection string: quoted, with ' and \ escaped.
  static std::string connection_string_value(const std::string& value) {
    std::string quoted = "'";
    for (char c : value) {
      if (c == '\'' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return quoted + "'";
  }

  // Extensions the restoring user cannot create here (not installed, or not
  // trusted and the user is no superuser). Their CREATE EXTENSION is left
  // out of the restore and each is named in `notes`.
  static std::vector<std::string> extensions_to_skip(PostgresConnection& connection,
                                                     const DatabaseProperties& properties,
                                                     std::vector<std::string>& notes) {
    std::vector<std::string> skipped;
    if (properties.extensions.empty()) return skipped;
    bool superuser =
        connection.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar().value_or("f") == "t";
    for (const auto& extension : properties.extensions) {
      auto available = connection.query("SELECT superuser, trusted FROM pg_available_extension_versions WHERE name = " +
                                        literal(extension.name) + " AND version = " + literal(extension.version));
      if (available.empty()) {
        skipped.push_back(extension.name);
        notes.push_back("extension '" + extension.name + "' " + extension.version +
                        " is not installed on this server and was not created");
        continue;
      }
      bool needs_superuser = available.rows[0][0].value_or("t") == "t" && available.rows[0][1].value_or("f") != "t";
      if (needs_superuser && !superuser) {
        skipped.push_back(extension.name);
        notes.push_back("extension '" + extension.name +
                        "' was not created: only a superuser can (it is not a "
                        "trusted extension); run CREATE EXTENSION " +
                        PostgresConnection::quote_identifier(extension.name) + " in the copy as a superuser");
      }
    }
    return skipped;
  }

  // The archive's table of contents without the entries of `extensions`
  // (the extension and its comment), for pg_restore --use-list.
  static void write_restore_list(ProcessSpec spec, const ArtifactRecord& artifact, const std::filesystem::path& file,
                                 const Target& target, const std::filesystem::path& list,
                                 const std::vector<std::string>& extensions) {
    auto full_list = list;
    full_list += ".full";
    spec.argv.push_back("--list");
    std::string context = "table of contents of '" + artifact.name + "'";
    if (artifact.format == "pg_directory") {
      spec.argv.push_back("--format=directory");
      spec.argv.push_back("--file=" + full_list.string());
      spec.argv.push_back(file.string());
      run_tool(spec, context);
    } else {
      read_artifact_head(spec, file, artifact, decryption_keys(target), full_list, context);
    }
    std::ifstream in(full_list);
    std::ofstream out(list);
    std::string line;
    while (std::getline(in, line)) {
      bool drop = false;
      for (const auto& name : extensions)
        drop = drop || line.ends_with(" EXTENSION - " + name + " ") || line.ends_with(" EXTENSION - " + name) ||
               line.ends_with(" COMMENT - EXTENSION " + name + " ") || line.ends_with(" COMMENT - EXTENSION " + name);
      out << (drop ? ";" : "") << line << "\n";
    }
    out.close();
    if (!out) throw Error(ErrorKind::io, "unable to write " + list.string());
  }

  // ALTER … OWNER TO the owner the backup recorded, for every schema,
  // relation, routine and type of the copy (schemas first: an owner needs
  // CREATE on the schema of what it owns). Sequences that belong to a
  // column follow their table.
  static void give_back_ownership(const Target& target, PostgresConnection& connection,
                                  const DatabaseDescription& recorded) {
    std::map<std::pair<std::string, std::string>, std::string> owners;
    for (const auto& object : recorded.objects)
      if (!object.owner.empty()) owners[{object.kind, object.name}] = object.owner;
    if (owners.empty()) return;
    connection.query("SELECT pg_catalog.set_config('search_path', '', false)");
    auto objects = connection.query(R"(
      SELECT 1, 'schema', n.nspname, 'SCHEMA ' || quote_ident(n.nspname), pg_get_userbyid(n.nspowner)
        FROM pg_namespace n
       WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
                         AND d.deptype = 'e')
      UNION ALL
      SELECT 2, CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type'
                ELSE 'composite type' END, n.nspname || '.' || t.typname,
             CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END || t.oid::regtype::text,
             pg_get_userbyid(t.typowner)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
       WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND EXISTS
               (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))
         AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                         AND d.deptype = 'e')
      UNION ALL
      SELECT 3, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' ELSE 'foreign table' END,
             n.nspname || '.' || c.relname,
             CASE c.relkind WHEN 'v' THEN 'VIEW ' WHEN 'm' THEN 'MATERIALIZED VIEW ' WHEN 'S' THEN 'SEQUENCE '
                WHEN 'f' THEN 'FOREIGN TABLE ' ELSE 'TABLE ' END || c.oid::regclass::text,
             pg_get_userbyid(c.relowner)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
         AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                         AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
      UNION ALL
      SELECT 4, CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END,
             n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
             CASE p.prokind WHEN 'a' THEN 'AGGREGATE ' WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END ||
                p.oid::regprocedure::text,
             pg_get_userbyid(p.proowner)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                         AND d.deptype = 'e')
      ORDER BY 1, 3)");
    for (const auto& row : objects.rows) {
      auto it = owners.find({row[1].value_or(""), row[2].value_or("")});
      if (it == owners.end() || it->second == row[4].value_or("")) continue;
      std::string statement =
          "ALTER " + row[3].value_or("") + " OWNER TO " + PostgresConnection::quote_identifier(it->second);
      try {
        connection.execute(statement);
      } catch (const Error& e) {
        throw Error(ErrorKind::config,
                    "restores keep owners ([target.restore] owner = \"keep\"), but '" + target.user +
                        "' cannot "
                        "give " +
                        row[1].value_or("") + " '" + row[2].value_or("") + "' back to '" + it->second +
                        "': " + e.what() + "; run GRANT " + PostgresConnection::quote_identifier(it->second) + " TO " +
                        PostgresConnection::quote_identifier(target.user) +
                        " (dbkeeper check lists every role needed), or set owner = \"restoring-user\"");
      }
    }
  }

  // A setting as ALTER … SET takes it: list settings (search_path and
  // friends) element by element, as pg_dump writes them, others as one literal.
  static std::string setting_value(const std::string& name, const std::string& value) {
    static const std::set<std::string> k_lists{"search_path",
                                               "temp_tablespaces",
                                               "local_preload_libraries",
                                               "session_preload_libraries",
                                               "shared_preload_libraries",
                                               "unix_socket_directories"};
    if (!k_lists.contains(name)) return literal(value);
    std::vector<std::string> items;
    std::string item;
    bool quoted = false;
    for (char c : value) {
      if (c == '"') {
        quoted = !quoted;
        continue;
      }
      if (c == ',' && !quoted) {
        items.push_back(item);
        item.clear();
        continue;
      }
      if (c == ' ' && !quoted && item.empty()) continue;
      item += c;
    }
    items.push_back(item);
    std::string text;
    for (const auto& element : items) text += (text.empty() ? "" : ", ") + literal(element);
    return text;
  }

  static void set_database_owner(const Target& target, PostgresConnection& connection, const std::string& database,
                                 const DatabaseProperties& properties) {
    std::string owner = target.restore.owner == "keep"             ? properties.owner
                        : target.restore.owner == "restoring-user" ? std::string()
                                                                   : target.restore.owner;
    if (owner.empty()) return;
    try {
      connection.execute("ALTER DATABASE " + PostgresConnection::quote_identifier(database) + " OWNER TO " +
                         PostgresConnection::quote_identifier(owner));
    } catch (const Error& e) {
      throw Error(ErrorKind::config, "'" + target.user + "' cannot make '" + owner + "' the owner of the restored " +
                                         "database: " + e.what() + "; run GRANT " +
                                         PostgresConnection::quote_identifier(owner) + " TO " +
                                         PostgresConnection::quote_identifier(target.user) +
                                         ", or set [target.restore] owner = \"restoring-user\"");
    }
  }

  // What pg_restore leaves to CREATE DATABASE and pg_restore --create:
  // owner, comment, settings and privileges of the database itself.
  static void apply_database_properties(const Target& target, PostgresConnection& connection,
                                        const std::string& database, const DatabaseProperties& properties,
                                        std::vector<std::string>& notes) {
    std::string name = PostgresConnection::quote_identifier(database);
    std::string owner = target.restore.owner == "keep"             ? properties.owner
                        : target.restore.owner == "restoring-user" ? std::string()
                                                                   : target.restore.owner;
    if (!owner.empty())
      connection.execute("ALTER DATABASE " + name + " OWNER TO " + PostgresConnection::quote_identifier(owner));
    if (!properties.comment.empty())
      connection.execute("COMMENT ON DATABASE " + name + " IS " + literal(properties.comment));
    for (const auto& setting : properties.settings) {
      auto equals = setting.find('=');
      if (equals == std::string::npos) continue;
      connection.execute("ALTER DATABASE " + name + " SET " +
                         PostgresConnection::quote_identifier(setting.substr(0, equals)) + " = " +
                         setting_value(setting.substr(0, equals), setting.substr(equals + 1)));
    }
    for (const auto& setting : properties.role_settings) {
      auto colon = setting.find(':');
      auto equals = setting.find('=', colon);
      if (colon == std::string::npos || equals == std::string::npos) continue;
      std::string role = setting.substr(0, colon);
      try {
        connection.execute("ALTER ROLE " + PostgresConnection::quote_identifier(role) + " IN DATABASE " + name +
                           " SET " +
                           PostgresConnection::quote_identifier(setting.substr(colon + 1, equals - colon - 1)) + " = " +
                           setting_value(setting.substr(colon + 1, equals - colon - 1), setting.substr(equals + 1)));
      } catch (const Error& e) {
        notes.push_back("the setting '" + setting.substr(colon + 1) + "' of role '" + role +
                        "' in this database was not carried: " + e.what());
      }
    }
    if (!target.restore.privileges || !properties.grants) return;
    connection.execute("REVOKE ALL ON DATABASE " + name + " FROM PUBLIC");
    for (const auto& grant : *properties.grants) {
      std::string grantee = grant.grantee == "PUBLIC" ? "PUBLIC" : PostgresConnection::quote_identifier(grant.grantee);
      try {
        connection.execute("GRANT " + grant.privilege + " ON DATABASE " + name + " TO " + grantee +
                           (grant.grantable ? " WITH GRANT OPTION" : ""));
      } catch (const Error& e) {
        notes.push_back("the database privilege " + grant.privilege + " of '" + grant.grantee +
                        "' was not carried: " + e.what());
      }
    }
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
