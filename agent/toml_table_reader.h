#pragma once
// Reads one TOML table against a schema: each typed getter marks its key as
// known, checks the type and records a problem (with file, line, column and
// the key path) instead of throwing, so one pass reports every mistake.
// finish() then reports the keys nobody asked for, with a did-you-mean hint.

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.h"

namespace dbkeeper {

class ConfigProblems {
 public:
  explicit ConfigProblems(std::filesystem::path file) : m_file(std::move(file)) {}
  void add(const toml::source_region& where, const std::string& key_path, const std::string& message);
  const std::vector<std::string>& list() const { return m_problems; }
  const std::filesystem::path& file() const { return m_file; }

 private:
  std::filesystem::path m_file;
  std::vector<std::string> m_problems;
};

class TomlTableReader {
 public:
  TomlTableReader(const toml::table& table, std::string path, ConfigProblems& problems);

  const std::string& path() const { return m_path; }
  std::string key_path(std::string_view key) const;
  const toml::table& table() const { return m_table; }
  void problem(std::string_view key, const std::string& message) const;
  void problem_at_table(const std::string& message) const;

  bool has(std::string_view key) const;
  std::optional<std::string> string(std::string_view key, bool required = false);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max, bool required = false);
  std::optional<bool> boolean(std::string_view key);
  std::optional<Duration> duration(std::string_view key, Duration min = Duration(1));
  // A string that must be one of `choices`.
  std::optional<std::string> choice(std::string_view key, std::span<const std::string_view> choices,
                                    bool required = false);
  std::optional<std::vector<std::string>> string_array(std::string_view key);
  // Sub-tables: nullptr when absent or of the wrong type (then a problem is recorded).
  const toml::table* table(std::string_view key);
  const toml::array* array_of_tables(std::string_view key);
  // Marks a key as known without reading it (the caller reads it itself).
  void accept(std::string_view key);
  // Records a problem for every key not read. `hint` explains common mistakes.
  void finish(const std::vector<std::pair<std::string_view, std::string_view>>& hints = {});

 private:
  const toml::node* node(std::string_view key);
  void wrong_type(std::string_view key, const toml::node& node, std::string_view expected) const;

  const toml::table& m_table;
  std::string m_path;
  ConfigProblems& m_problems;
  std::vector<std::string> m_known;
};

std::string_view toml_type_name(toml::node_type type);

}  // namespace dbkeeper
