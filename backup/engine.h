#pragma once
// The one interface behind which each database engine lives. Callers pick an
// engine by name from the table in engine_registry.cpp and never name a
// concrete engine themselves.

#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backup/manifest.h"
#include "backup/pipeline/zstd_compressor.h"
#include "backup/target.h"

namespace dbkeeper {

struct ServerIdentity {
  std::string product;  // "MariaDB", "MySQL", "PostgreSQL"
  std::string version;
};

// Where a dump writes: the backup's directory for artifacts and a private
// (0700) directory for credential files.
struct BackupWorkspace {
  std::filesystem::path directory;
  std::filesystem::path private_directory;
  CompressionSettings compression;
};

// What a full dump produced; the backup job turns it into the manifest.
struct DumpResult {
  ServerIdentity server;
  std::string tool;
  std::string tool_version;
  std::vector<std::string> databases;
  std::map<std::string, std::vector<TableRecord>> tables;
  std::vector<ArtifactRecord> artifacts;
  LogPosition position;
  std::string row_count_source;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Connects with the target's timeout, runs a trivial statement and returns
  // what answered. Throws Error{connection} (or {query}) with the server's message.
  virtual ServerIdentity probe(const Target& target) const = 0;

  // A full logical dump of the target's databases (all user databases when
  // the target lists none), one artifact per database, into `workspace`.
  virtual DumpResult dump_full(const Target& target, const BackupWorkspace& workspace) const = 0;

  virtual bool database_exists(const Target& target, const std::string& database) const = 0;
  virtual void create_database(const Target& target, const std::string& database) const = 0;
  virtual void drop_database(const Target& target, const std::string& database) const = 0;
  // Databases whose name starts with `prefix` (leftover scratch databases).
  virtual std::vector<std::string> databases_with_prefix(const Target& target, const std::string& prefix) const = 0;

  // Loads one database artifact (already checksummed) into the existing,
  // empty `database`.
  virtual void restore_artifact(const Target& target, const ArtifactRecord& artifact, const std::filesystem::path& file,
                                const std::string& database, const std::filesystem::path& private_directory) const = 0;

  // Base tables of `database` and their exact row counts.
  virtual std::vector<TableRecord> count_rows(const Target& target, const std::string& database) const = 0;
};

struct EngineDefinition {
  std::string_view name;
  std::string_view description;
  unsigned default_port;
  std::unique_ptr<Engine> (*create)();
};

std::span<const EngineDefinition> engine_definitions();
// nullptr when no engine has that name.
const EngineDefinition* find_engine(std::string_view name);
// Throws Error{config} naming the known engines.
std::unique_ptr<Engine> create_engine(std::string_view name);

}  // namespace dbkeeper
