#include "agent/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/repository_config.h"
#include "agent/secret_file.h"
#include "agent/toml_table_reader.h"
#include "backup/engine.h"
#include "backup/pipeline/artifact_cipher.h"
#include "core/cron_expression.h"

namespace dbkeeper {
namespace {

constexpr std::array<std::string_view, 7> k_log_levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
constexpr std::array<std::string_view, 2> k_log_formats{"text", "json"};
constexpr std::array<std::string_view, 7> k_migration_frameworks{"laravel", "prisma", "flyway", "golang-migrate",
                                                                 "rails",   "django", "alembic"};
constexpr std::string_view k_password_hint =
    "passwords are not accepted in the configuration file; use password_file (a file readable only by dbkeeper) "
    "or password_env (the name of an environment variable)";

std::vector<std::string_view> engine_names() {
  std::vector<std::string_view> names;
  for (const auto& definition : engine_definitions()) names.push_back(definition.name);
  return names;
}

bool valid_target_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; });
}

// "host:port" or "[v6]:port".
std::optional<std::string> listen_address_problem(std::string_view address) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return "expected \"host:port\", e.g. \"127.0.0.1:9745\"";
  std::string_view host = address.substr(0, colon);
  std::string_view port = address.substr(colon + 1);
  if (host.front() == '[' && host.back() != ']')
    return "an IPv6 address must be written in brackets, e.g. \"[::1]:9745\"";
  if (host.front() != '[' && host.find(':') != std::string_view::npos)
    return "an IPv6 address must be written in brackets, e.g. \"[::1]:9745\"";
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      std::stoi(std::string(port)) > 65535)
    return "port \"" + std::string(port) + "\" is not a number from 0 to 65535";
  return std::nullopt;
}

void read_schedule(TomlTableReader& target, Target& result, ConfigProblems& problems) {
  const toml::table* table = target.table("schedule");
  if (!table) return;
  TomlTableReader schedule(*table, target.key_path("schedule"), problems);
  auto cron = [&](std::string_view key, std::string& out) {
    auto text = schedule.string(key);
    if (!text) return;
    try {
      CronExpression::parse(*text);
      out = *text;
    } catch (const Error& e) {
      schedule.problem(key, e.what());
    }
  };
  cron("full", result.schedule.full);
  cron("incremental", result.schedule.incremental);
  if (!result.schedule.incremental.empty()) {
    const auto* engine = find_engine(result.engine);
    if (engine && !engine->incremental_backups)
      schedule.problem("incremental", "incremental backups are not available for engine '" + result.engine +
                                          "': " + std::string(engine->no_incremental_reason) +
                                          " (remove the key; full backups still run)");
  }
  cron("verify", result.schedule.verify);
  cron("prune", result.schedule.prune);
  constexpr std::array<std::string_view, 1> log_modes{"continuous"};
  if (auto log = schedule.choice("log", log_modes)) {
    result.schedule.continuous_log = true;
    const auto* engine = find_engine(result.engine);
    if (engine && !engine->archives_logs)
      schedule.problem("log", "continuous log archiving is not available for engine '" + result.engine +
                                  "': " + std::string(engine->no_log_archive_reason) +
                                  " (remove the key; full backups still run)");
  }
  schedule.finish();
}

void read_restore(TomlTableReader& target, Target& result, ConfigProblems& problems) {
  const toml::table* table = target.table("restore");
  if (!table) return;
  TomlTableReader restore(*table, target.key_path("restore"), problems);
  if (auto owner = restore.string("owner")) {
    if (owner->empty())
      restore.problem("owner", "must be \"keep\", \"restoring-user\" or the name of a role");
    else
      result.restore.owner = *owner;
  }
  constexpr std::array<std::string_view, 2> privilege_modes{"keep", "drop"};
  if (auto privileges = restore.choice("privileges", privilege_modes))
    result.restore.privileges = *privileges == "keep";
  if (auto keep = restore.duration("keep_replaced", std::chrono::seconds(0))) result.restore.keep_replaced = *keep;
  if (result.engine != "postgres" && (result.restore.owner != "keep" || !result.restore.privileges))
    restore.problem(result.restore.owner != "keep" ? "owner" : "privileges",
                    "applies to PostgreSQL targets only: MariaDB/MySQL keep DEFINERs in the definitions and grants "
                    "in the mysql schema, outside the database");
  restore.finish();
}

void read_verify(TomlTableReader& target, Target& result, ConfigProblems& problems) {
  const toml::table* table = target.table("verify");
  if (!table) return;
  TomlTableReader verify(*table, target.key_path("verify"), problems);
  constexpr std::array<std::string_view, 3> places{"auto", "instance", "server"};
  if (auto into = verify.choice("into", places)) result.verify.into = *into;
  if (auto directory = verify.string("instance_directory")) {
    if (!std::filesystem::path(*directory).is_absolute())
      verify.problem("instance_directory", "must be an absolute path");
    else
      result.verify.instance_directory = *directory;
  }
  verify.finish();
}

void read_backup(TomlTableReader& target, Target& result, ConfigProblems& problems) {
  const toml::table* table = target.table("backup");
  if (!table) return;
  TomlTableReader backup(*table, target.key_path("backup"), problems);
  if (auto level = backup.integer("compression_level", 1, 19))
    result.backup.compression_level = static_cast<int>(*level);
  if (auto threads = backup.integer("compression_threads", 0, 64))
    result.backup.compression_threads = static_cast<int>(*threads);
  if (auto role_passwords = backup.boolean("role_passwords")) result.backup.role_passwords = *role_passwords;
  if (auto parallel = backup.integer("parallel", 1, 64)) result.backup.parallel = static_cast<int>(*parallel);
  if (auto interval = backup.duration("log_archive_interval", std::chrono::seconds(1)))
    result.backup.log_archive_interval = *interval;
  // An encryption key: a secret file of at least the length the cipher needs.
  auto read_key = [&](std::string_view key, const std::string& file) -> std::optional<Secret> {
    auto secret = read_secret_file(backup, key, file);
    if (secret && secret->reveal().size() < k_min_encryption_secret_bytes) {
      backup.problem(key, "'" + file + "' holds " + std::to_string(secret->reveal().size()) +
                              " bytes; an encryption key needs at least " +
                              std::to_string(k_min_encryption_secret_bytes) +
                              " (create one with: openssl rand -base64 48 > '" + file + "')");
      return std::nullopt;
    }
    return secret;
  };
  if (auto key_file = backup.string("encryption_key_file")) {
    auto key = read_key("encryption_key_file", *key_file);
    if (key && result.backup.parallel > 1)
      backup.problem("encryption_key_file",
                     "cannot be used with parallel > 1: pg_dump writes the directory format's files itself, "
                     "unencrypted (set parallel = 1 to encrypt)");
    else if (key)
      result.backup.encryption_key = std::move(key);
  }
  if (auto files = backup.string_array("previous_encryption_key_files"))
    for (const auto& file : *files)
      if (auto key = read_key("previous_encryption_key_files", file))
        result.backup.previous_encryption_keys.push_back(std::move(*key));
  backup.finish();
}

void read_retention(TomlTableReader& target, Target& result, ConfigProblems& problems) {
  const toml::table* table = target.table("retention");
  if (!table) return;
  TomlTableReader retention(*table, target.key_path("retention"), problems);
  if (auto count = retention.integer("full_count", 1, 10000)) result.retention.full_count = static_cast<int>(*count);
  result.retention.max_age = retention.duration("max_age", std::chrono::minutes(1));
  retention.finish();
}

void read_queries(TomlTableReader& target, Target& result, ConfigProblems& problems) {
  const toml::table* table = target.table("queries");
  if (!table) return;
  TomlTableReader queries(*table, target.key_path("queries"), problems);
  if (auto threshold = queries.duration("slow_threshold")) result.queries.slow_threshold = *threshold;
  if (auto top_n = queries.integer("top_n", 1, 100)) result.queries.top_n = static_cast<int>(*top_n);
  if (auto top_tables = queries.integer("top_tables", 0, 100))
    result.queries.top_tables = static_cast<int>(*top_tables);
  queries.finish();
}

void read_migrations(TomlTableReader& target, Target& result, ConfigProblems& problems) {
  const toml::array* array = target.array_of_tables("migrations");
  if (!array) return;
  std::size_t index = 0;
  for (const auto& element : *array) {
    TomlTableReader migration(*element.as_table(), target.key_path("migrations") + "[" + std::to_string(index++) + "]",
                              problems);
    TargetMigrations entry;
    auto database = migration.string("database", true);
    auto framework = migration.choice("framework", k_migration_frameworks, true);
    auto path = migration.string("path", true);
    migration.finish();
    if (database && framework && path) result.migrations.push_back({*database, *framework, *path});
  }
}

std::optional<Target> read_target(TomlTableReader& target, const Config& config, ConfigProblems& problems) {
  Target result;
  std::size_t problems_before = problems.list().size();

  if (auto name = target.string("name", true)) {
    if (!valid_target_name(*name))
      target.problem("name", "\"" + *name +
                                 "\" is not a valid target name (letters, digits, '_', '-' and '.', "
                                 "starting with a letter or digit, at most 64 characters)");
    result.name = *name;
  }
  auto engines = engine_names();
  const EngineDefinition* engine = nullptr;
  if (auto name = target.choice("engine", engines, true)) {
    result.engine = *name;
    engine = find_engine(*name);
  }

  auto host = target.string("host");
  auto socket = target.string("socket");
  if (host && socket) target.problem("socket", "set either host or socket, not both");
  result.host = host.value_or("127.0.0.1");
  if (socket) {
    result.socket = *socket;
    if (socket->empty() || socket->front() != '/') target.problem("socket", "must be an absolute path");
  }
  if (auto port = target.integer("port", 1, 65535))
    result.port = static_cast<unsigned>(*port);
  else if (engine)
    result.port = engine->default_port;
  // PostgreSQL sockets are named by directory and port; accept the socket
  // file's own path too, as `ls /run/postgresql` shows it.
  if (result.engine == "postgres" && !result.socket.empty()) {
    std::filesystem::path socket_path = result.socket;
    std::string file = socket_path.filename().string();
    if (file.starts_with(".s.PGSQL.")) {
      result.socket = socket_path.parent_path().string();
      if (!target.has("port")) result.port = static_cast<unsigned>(std::atoi(file.c_str() + 9));
    }
  }

  if (auto user = target.string("user", true)) {
    if (user->empty()) target.problem("user", "must not be empty");
    result.user = *user;
  }

  auto password_file = target.string("password_file");
  auto password_env = target.string("password_env");
  if (password_file && password_env) {
    target.problem("password_env", "set either password_file or password_env, not both");
  } else if (password_file) {
    if (auto password = read_secret_file(target, "password_file", *password_file)) result.password = *password;
  } else if (password_env) {
    const char* value = std::getenv(password_env->c_str());
    if (password_env->empty())
      target.problem("password_env", "must name an environment variable");
    else if (value == nullptr || *value == '\0')
      target.problem("password_env", "environment variable '" + *password_env + "' is not set or empty");
    else
      result.password = Secret(value);
  }

  if (auto databases = target.string_array("databases")) {
    std::set<std::string> seen;
    for (const auto& database : *databases) {
      if (database.empty()) target.problem("databases", "a database name must not be empty");
      if (!seen.insert(database).second) target.problem("databases", "database \"" + database + "\" is listed twice");
    }
    result.databases = *databases;
  }
  if (auto timeout = target.duration("connect_timeout", std::chrono::seconds(1))) result.connect_timeout = *timeout;

  read_backup(target, result, problems);
  read_restore(target, result, problems);
  read_verify(target, result, problems);
  read_schedule(target, result, problems);
  read_retention(target, result, problems);
  read_queries(target, result, problems);
  read_migrations(target, result, problems);
  read_target_repositories(target, config, result);
  target.finish({{"password", k_password_hint}});

  if (problems.list().size() != problems_before) return std::nullopt;
  return result;
}

void read_agent(TomlTableReader& root, AgentSettings& agent, ConfigProblems& problems) {
  const toml::table* table = root.table("agent");
  if (!table) return;
  TomlTableReader reader(*table, "agent", problems);
  if (auto address = reader.string("listen_address")) {
    if (auto problem = listen_address_problem(*address))
      reader.problem("listen_address", *problem);
    else
      agent.listen_address = *address;
  }
  if (auto repository = reader.string("repository")) {
    if (repository->empty() || repository->front() != '/')
      reader.problem("repository", "must be an absolute path");
    else
      agent.repository = *repository;
  }
  if (auto level = reader.choice("log_level", k_log_levels)) agent.log_level = *level;
  if (auto format = reader.choice("log_format", k_log_formats)) agent.log_format = *format;
  if (auto jobs = reader.integer("max_concurrent_jobs", 1, 64)) agent.max_concurrent_jobs = static_cast<int>(*jobs);
  if (auto patterns = reader.string_array("protected_databases")) {
    for (const auto& pattern : *patterns)
      if (pattern.empty()) reader.problem("protected_databases", "a pattern must not be empty");
    agent.protected_databases = *patterns;
  }
  reader.finish();
}

void read_collectors(TomlTableReader& root, Config& config, ConfigProblems& problems) {
  for (const auto& definition : collector_definitions())
    config.collectors.emplace(std::string(definition.name), default_settings(definition));
  const toml::table* table = root.table("collectors");
  if (!table) return;
  TomlTableReader collectors(*table, "collectors", problems);
  for (const auto& definition : collector_definitions()) {
    const toml::table* own = collectors.table(definition.name);
    if (!own) continue;
    TomlTableReader reader(*own, collectors.key_path(definition.name), problems);
    CollectorSettings& settings = config.collectors[std::string(definition.name)];
    if (auto enabled = reader.boolean("enabled")) settings.enabled = *enabled;
    if (auto interval = reader.duration("interval", std::chrono::seconds(1))) settings.interval = *interval;
    if (auto timeout = reader.duration("timeout", std::chrono::milliseconds(100))) {
      settings.timeout = *timeout;
      if (settings.timeout > settings.interval)
        reader.problem("timeout", "must not be longer than the interval (" + format_duration(settings.interval) + ")");
    } else {
      // An unset timeout shrinks with a short interval rather than reject it.
      settings.timeout = std::min(settings.timeout, settings.interval);
    }
    reader.finish();
  }
  collectors.finish();
}

}  // namespace

const RepositorySettings* Config::find_repository(std::string_view name) const {
  for (const auto& repository : repositories)
    if (repository.name == name) return &repository;
  return nullptr;
}

const Target* Config::find_target(std::string_view name) const {
  for (const auto& target : targets)
    if (target.name == name) return &target;
  return nullptr;
}

ConfigInvalid::ConfigInvalid(std::vector<std::string> problems)
    : Error(ErrorKind::config,
            [&] {
              std::string joined;
              for (const auto& p : problems) joined += (joined.empty() ? "" : "\n") + p;
              return joined;
            }()),
      m_problems(std::move(problems)) {}

Config load_config(const std::filesystem::path& path) {
  ConfigProblems problems(path);
  std::error_code error;
  if (!std::filesystem::exists(path, error))
    throw ConfigInvalid({path.string() + ": configuration file does not exist"});

  toml::table document;
  try {
    document = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    problems.add(e.source(), "", std::string("syntax error: ") + std::string(e.description()));
    throw ConfigInvalid(problems.list());
  }

  Config config;
  config.path = path;
  TomlTableReader root(document, "", problems);
  read_agent(root, config.agent, problems);
  read_collectors(root, config, problems);
  read_repositories(root, config, problems);

  const toml::array* targets = root.array_of_tables("target");
  if (targets == nullptr && !root.has("target"))
    problems.add(toml::source_region{}, "target",
                 "no [[target]] is configured; add at least one database to look after");
  if (targets) {
    std::map<std::string, std::size_t> seen;
    std::size_t index = 0;
    for (const auto& element : *targets) {
      TomlTableReader reader(*element.as_table(), "target[" + std::to_string(index) + "]", problems);
      auto target = read_target(reader, config, problems);
      // Duplicates are reported even when the target has other problems.
      if (const auto* name = element.as_table()->get_as<std::string>("name")) {
        auto [previous, inserted] = seen.emplace(name->get(), index);
        if (!inserted)
          reader.problem("name", "duplicate target name \"" + name->get() + "\" (also used by target[" +
                                     std::to_string(previous->second) + "])");
      }
      if (target) config.targets.push_back(std::move(*target));
      ++index;
    }
  }
  root.finish({{"targets", "the array of tables is spelled [[target]]"}});

  if (!problems.list().empty()) throw ConfigInvalid(problems.list());
  return config;
}

std::string describe_config(const Config& config) {
  std::ostringstream out;
  out << "configuration " << config.path.string() << " is valid\n";
  out << "agent: listen " << config.agent.listen_address << ", repository " << config.agent.repository << ", log level "
      << config.agent.log_level << "\n";
  for (const auto& repository : config.repositories) {
    out << "repository " << repository.name << ": ";
    if (repository.storage.driver == "s3") {
      const auto& s3 = repository.storage.s3;
      out << "s3://" << s3.bucket << (s3.prefix.empty() ? "" : "/" + s3.prefix) << " at " << s3.endpoint << " (region "
          << s3.region << ", " << (s3.path_style ? "path" : "virtual-host") << " style, TLS "
          << (s3.verify_tls ? "verified" : "NOT verified") << ", credentials set)";
    } else {
      out << repository.storage.path.string();
    }
    out << "\n";
  }
  out << config.targets.size() << (config.targets.size() == 1 ? " target:\n" : " targets:\n");
  for (const auto& target : config.targets) {
    std::string endpoint = target.socket.empty() ? target.host + ":" + std::to_string(target.port) : target.socket;
    out << "  " << target.name << ": " << target.engine << " at " << endpoint << " as " << target.user;
    out << (target.password.empty() ? ", no password" : ", password set");
    if (!target.databases.empty()) {
      out << ", databases:";
      for (const auto& database : target.databases) out << " " << database;
    } else {
      out << ", all databases";
    }
    out << "\n";
    auto line = [&](std::string_view job, const std::string& value) {
      out << "    " << job << std::string(13 - job.size(), ' ') << (value.empty() ? "not scheduled" : value) << "\n";
    };
    line("full", target.schedule.full);
    line("incremental", target.schedule.incremental);
    line("log", target.schedule.continuous_log
                    ? "continuous, archived every " + format_duration(target.backup.log_archive_interval)
                    : "");
    line("verify", target.schedule.verify);
    line("prune", target.schedule.prune);
    std::string retention;
    if (target.retention.full_count) retention = "last " + std::to_string(*target.retention.full_count) + " full";
    if (target.retention.max_age)
      retention += (retention.empty() ? "" : " and ") + std::string("younger than ") +
                   format_duration(*target.retention.max_age);
    line("retention", retention.empty() ? "keep everything" : retention);
    std::string encryption = target.backup.encryption_key ? std::string(k_artifact_cipher) : "off";
    if (!target.backup.previous_encryption_keys.empty())
      encryption +=
          ", reads with " + std::to_string(target.backup.previous_encryption_keys.size()) + " previous key(s)";
    line("encryption", encryption);
    line("backups",
         "made in " + (target.primary_repository.empty() ? std::string("local (") + config.agent.repository + ")"
                                                         : target.primary_repository));
    if (!target.copies_to.empty()) {
      std::string copies;
      for (const auto& name : target.copies_to) copies += (copies.empty() ? "" : ", ") + name;
      line("copies", "to " + copies);
    }
    line("verify",
         "into " + target.verify.into +
             (target.verify.instance_directory.empty() ? std::string()
                                                       : ", instances under " + target.verify.instance_directory));
    if (target.engine == "postgres")
      line("restore",
           "owner " + target.restore.owner + ", privileges " + (target.restore.privileges ? "kept" : "dropped"));
    for (const auto& migration : target.migrations)
      out << "    migrations   " << migration.database << " (" << migration.framework << ") from " << migration.path
          << "\n";
  }
  return out.str();
}

}  // namespace dbkeeper
