#pragma once
// How each migration framework names its files and records what it applied,
// and how the two compare. Pure logic: files are read from a directory, the
// applied records come in as rows; the collector does the querying.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/query_result.h"

namespace dbkeeper {

struct MigrationCounts {
  std::size_t applied = 0;
  std::size_t pending = 0;
  std::optional<bool> dirty;  // golang-migrate only
};

struct MigrationFramework {
  std::string_view name;
  std::string_view table;        // the framework's table of applied migrations
  std::string_view applied_sql;  // rows the comparison reads
  // Throws Error{io} when the directory cannot be read.
  MigrationCounts (*count)(const std::filesystem::path& directory, const QueryResult* applied);
};

// nullptr for an unknown framework name.
const MigrationFramework* find_migration_framework(std::string_view name);

}  // namespace dbkeeper
