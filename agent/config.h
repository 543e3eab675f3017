#pragma once
// The configuration file: TOML read with toml++ into plain structs, checked
// completely. Only this file and config.cpp know about toml++.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "backup/storage/storage.h"
#include "backup/target.h"
#include "collectors/collector.h"
#include "core/error.h"

namespace dbkeeper {

inline constexpr const char* k_default_config_path = "/etc/dbkeeper/dbkeeper.toml";

struct AgentSettings {
  std::string listen_address = "127.0.0.1:9745";
  std::string repository = "/var/lib/dbkeeper";
  std::string log_level = "info";
  std::string log_format = "text";
  int max_concurrent_jobs = 2;
  // Databases no restore ever writes into (fnmatch patterns), on top of
  // the servers' own (mysql, sys, postgres, template0, ...).
  std::vector<std::string> protected_databases;
};

// The name of the repository at [agent] repository, always a target's first.
inline constexpr const char* k_local_repository = "local";

// A repository besides the local one ([[repository]]): where the copy job
// keeps copies of every complete backup and archived log (docs/repository.md).
struct RepositorySettings {
  std::string name;
  StorageSettings storage;
  TargetRetention retention;  // unset: each target's own [target.retention]
};

struct Config {
  std::filesystem::path path;
  AgentSettings agent;
  std::vector<RepositorySettings> repositories;
  std::vector<Target> targets;
  std::map<std::string, CollectorSettings, std::less<>> collectors;

  const Target* find_target(std::string_view name) const;
  const RepositorySettings* find_repository(std::string_view name) const;
};

// Every problem found in a configuration file, each formatted
// "<file>:<line>:<column>: <key path>: <what is wrong>".
class ConfigInvalid : public Error {
 public:
  explicit ConfigInvalid(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return m_problems; }

 private:
  std::vector<std::string> m_problems;
};

// Reads, parses and validates; throws ConfigInvalid listing all problems.
Config load_config(const std::filesystem::path& path);

// The human summary printed by `dbkeeper check-config`.
std::string describe_config(const Config& config);

}  // namespace dbkeeper
