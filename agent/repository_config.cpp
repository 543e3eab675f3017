#include "agent/repository_config.h"

#include <array>
#include <cstdlib>
#include <set>
#include <sstream>

#include "agent/secret_file.h"

namespace dbkeeper {
namespace {

constexpr std::array<std::string_view, 2> k_drivers{"posix", "s3"};
constexpr std::array<std::string_view, 2> k_url_styles{"path", "virtual-host"};
constexpr const char* k_access_key_env = "AWS_ACCESS_KEY_ID";
constexpr const char* k_secret_key_env = "AWS_SECRET_ACCESS_KEY";

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name.front())) &&
         std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; });
}

std::string trim(std::string text) {
  auto start = text.find_first_not_of(" \t\"");
  auto end = text.find_last_not_of(" \t\"\r");
  return start == std::string::npos ? std::string() : text.substr(start, end - start + 1);
}

// credentials_file: "access_key_id = …" and "secret_access_key = …" lines
// (the names of AWS's credentials file, with or without "aws_").
void read_credentials(TomlTableReader& reader, S3Settings& s3) {
  if (auto file = reader.string("credentials_file")) {
    auto content = read_secret_file(reader, "credentials_file", *file);
    if (!content) return;
    std::istringstream lines(content->reveal());
    for (std::string line; std::getline(lines, line);) {
      auto equals = line.find('=');
      if (equals == std::string::npos) continue;
      std::string key = trim(line.substr(0, equals));
      if (key.starts_with("aws_")) key = key.substr(4);
      std::string value = trim(line.substr(equals + 1));
      if (key == "access_key_id") s3.access_key = value;
      if (key == "secret_access_key") s3.secret_key = Secret(value);
    }
    if (s3.access_key.empty() || s3.secret_key.empty())
      reader.problem("credentials_file", "'" + *file + "' must hold access_key_id = … and secret_access_key = … lines");
    return;
  }
  const char* access = std::getenv(k_access_key_env);
  const char* secret = std::getenv(k_secret_key_env);
  if (access && *access && secret && *secret) {
    s3.access_key = access;
    s3.secret_key = Secret(secret);
    return;
  }
  reader.problem_at_table(std::string("no S3 credentials: set credentials_file (a 0600 file) or the environment "
                                      "variables ") +
                          k_access_key_env + " and " + k_secret_key_env);
}

void read_s3(TomlTableReader& reader, S3Settings& s3) {
  if (auto endpoint = reader.string("endpoint", true)) {
    if (!endpoint->starts_with("https://") && !endpoint->starts_with("http://"))
      reader.problem("endpoint", "must start with https:// (or http:// for a store on this host)");
    s3.endpoint = *endpoint;
  }
  if (auto bucket = reader.string("bucket", true)) {
    if (bucket->empty() || bucket->find('/') != std::string::npos)
      reader.problem("bucket", "must be a bucket name, without '/'");
    s3.bucket = *bucket;
  }
  if (auto region = reader.string("region")) s3.region = *region;
  if (auto prefix = reader.string("prefix")) {
    if (prefix->starts_with('/') || prefix->ends_with('/') || prefix->find("//") != std::string::npos)
      reader.problem("prefix", "must not start or end with '/' (\"db1\", \"dbkeeper/db1\")");
    s3.prefix = *prefix;
  }
  if (auto style = reader.choice("url_style", k_url_styles)) s3.path_style = *style == "path";
  if (auto ca = reader.string("ca_file")) {
    if (!std::filesystem::is_regular_file(*ca)) reader.problem("ca_file", "'" + *ca + "' is not a readable file");
    s3.ca_file = *ca;
  }
  if (auto verify = reader.boolean("verify_tls")) s3.verify_tls = *verify;
  if (auto part = reader.integer("part_size_mib", 5, 5120))
    s3.part_size = static_cast<std::size_t>(*part) * 1024 * 1024;
  if (auto parts = reader.integer("parts_in_flight", 1, 64)) s3.parts_in_flight = static_cast<int>(*parts);
  read_credentials(reader, s3);
}

}  // namespace

void read_repositories(TomlTableReader& root, Config& config, ConfigProblems& problems) {
  const toml::array* array = root.array_of_tables("repository");
  if (!array) return;
  std::set<std::string> seen;
  std::size_t index = 0;
  for (const auto& element : *array) {
    TomlTableReader reader(*element.as_table(), "repository[" + std::to_string(index++) + "]", problems);
    RepositorySettings repository;
    if (auto name = reader.string("name", true)) {
      repository.storage.s3.name = *name;
      if (!valid_name(*name))
        reader.problem("name", "\"" + *name + "\" is not a valid repository name (letters, digits, '_', '-', '.')");
      else if (*name == k_local_repository)
        reader.problem("name", "\"local\" is the repository at [agent] repository; choose another name");
      else if (!seen.insert(*name).second)
        reader.problem("name", "duplicate repository name \"" + *name + "\"");
      repository.name = *name;
    }
    if (auto driver = reader.choice("driver", k_drivers, true)) {
      repository.storage.driver = *driver;
      if (*driver == "posix") {
        if (auto path = reader.string("path", true)) {
          if (path->empty() || path->front() != '/') reader.problem("path", "must be an absolute path");
          repository.storage.path = *path;
        }
      } else {
        read_s3(reader, repository.storage.s3);
      }
    }
    if (const toml::table* retention = reader.table("retention")) {
      TomlTableReader policy(*retention, reader.key_path("retention"), problems);
      if (auto count = policy.integer("full_count", 1, 10000))
        repository.retention.full_count = static_cast<int>(*count);
      repository.retention.max_age = policy.duration("max_age", std::chrono::minutes(1));
      policy.finish();
    }
    reader.finish({{"secret_access_key", "put the secret in credentials_file (mode 0600), never in the config"},
                   {"access_key_id", "put the keys in credentials_file (mode 0600)"}});
    config.repositories.push_back(std::move(repository));
  }
}

void read_target_repositories(TomlTableReader& reader, const Config& config, Target& target) {
  auto names = reader.string_array("repositories");
  if (!names) return;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < names->size(); ++i) {
    const auto& name = (*names)[i];
    if (!seen.insert(name).second) {
      reader.problem("repositories", "repository \"" + name + "\" is listed twice");
    } else if (i > 0 && name == k_local_repository) {
      reader.problem("repositories",
                     "\"local\" can only be first: a target whose backups are made in another repository keeps "
                     "none of them locally");
    } else if (name != k_local_repository && !config.find_repository(name)) {
      std::string known;
      for (const auto& repository : config.repositories) known += (known.empty() ? "" : ", ") + repository.name;
      reader.problem("repositories",
                     "no [[repository]] is named \"" + name + "\"" +
                         (known.empty() ? std::string(" (none is configured)") : " (known: " + known + ")"));
    } else if (i == 0 && name != k_local_repository) {
      target.primary_repository = name;
    } else if (i > 0) {
      target.copies_to.push_back(name);
    }
  }
}

}  // namespace dbkeeper
