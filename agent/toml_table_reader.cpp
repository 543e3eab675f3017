#include "agent/toml_table_reader.h"

#include <algorithm>

#include "core/error.h"
#include "core/spelling_suggestion.h"

namespace dbkeeper {

void ConfigProblems::add(const toml::source_region& where, const std::string& key_path, const std::string& message) {
  std::string location = m_file.string();
  if (where.begin.line > 0) {
    location += ":" + std::to_string(where.begin.line);
    if (where.begin.column > 0) location += ":" + std::to_string(where.begin.column);
  }
  m_problems.push_back(location + ": " + (key_path.empty() ? "" : key_path + ": ") + message);
}

std::string_view toml_type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: return "nothing";
  }
  return "unknown";
}

TomlTableReader::TomlTableReader(const toml::table& table, std::string path, ConfigProblems& problems)
    : m_table(table), m_path(std::move(path)), m_problems(problems) {}

std::string TomlTableReader::key_path(std::string_view key) const {
  return m_path.empty() ? std::string(key) : m_path + "." + std::string(key);
}

void TomlTableReader::problem(std::string_view key, const std::string& message) const {
  const toml::node* value = m_table.get(key);
  m_problems.add(value ? value->source() : m_table.source(), key_path(key), message);
}

void TomlTableReader::problem_at_table(const std::string& message) const {
  m_problems.add(m_table.source(), m_path, message);
}

bool TomlTableReader::has(std::string_view key) const {
  return m_table.contains(key);
}

void TomlTableReader::accept(std::string_view key) {
  if (std::find(m_known.begin(), m_known.end(), key) == m_known.end()) m_known.emplace_back(key);
}

const toml::node* TomlTableReader::node(std::string_view key) {
  accept(key);
  return m_table.get(key);
}

void TomlTableReader::wrong_type(std::string_view key, const toml::node& value, std::string_view expected) const {
  m_problems.add(value.source(), key_path(key),
                 "expected " + std::string(expected) + ", found " + std::string(toml_type_name(value.type())));
}

std::optional<std::string> TomlTableReader::string(std::string_view key, bool required) {
  const toml::node* value = node(key);
  if (value == nullptr) {
    if (required) m_problems.add(m_table.source(), key_path(key), "required key is missing");
    return std::nullopt;
  }
  if (!value->is_string()) {
    wrong_type(key, *value, "a string");
    return std::nullopt;
  }
  return value->as_string()->get();
}

std::optional<std::int64_t> TomlTableReader::integer(std::string_view key, std::int64_t min, std::int64_t max,
                                                     bool required) {
  const toml::node* value = node(key);
  if (value == nullptr) {
    if (required) m_problems.add(m_table.source(), key_path(key), "required key is missing");
    return std::nullopt;
  }
  if (!value->is_integer()) {
    wrong_type(key, *value, "an integer");
    return std::nullopt;
  }
  std::int64_t number = value->as_integer()->get();
  if (number < min || number > max) {
    m_problems.add(value->source(), key_path(key),
                   "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", found " +
                       std::to_string(number));
    return std::nullopt;
  }
  return number;
}

std::optional<bool> TomlTableReader::boolean(std::string_view key) {
  const toml::node* value = node(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) {
    wrong_type(key, *value, "a boolean (true or false)");
    return std::nullopt;
  }
  return value->as_boolean()->get();
}

std::optional<Duration> TomlTableReader::duration(std::string_view key, Duration min) {
  const toml::node* value = node(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    wrong_type(key, *value, "a duration string such as \"90s\"");
    return std::nullopt;
  }
  try {
    Duration parsed = parse_duration(value->as_string()->get());
    if (parsed < min) {
      m_problems.add(value->source(), key_path(key), "must be at least " + format_duration(min));
      return std::nullopt;
    }
    return parsed;
  } catch (const Error& e) {
    m_problems.add(value->source(), key_path(key), e.what());
    return std::nullopt;
  }
}

std::optional<std::string> TomlTableReader::choice(std::string_view key, std::span<const std::string_view> choices,
                                                   bool required) {
  auto text = string(key, required);
  if (!text) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *text) != choices.end()) return text;
  std::string known;
  for (auto c : choices) known += (known.empty() ? "" : ", ") + std::string(c);
  std::string message = "unknown value \"" + *text + "\" (expected one of: " + known + ")";
  if (auto suggestion = closest_match(*text, choices)) message += "; did you mean \"" + *suggestion + "\"?";
  problem(key, message);
  return std::nullopt;
}

std::optional<std::vector<std::string>> TomlTableReader::string_array(std::string_view key) {
  const toml::node* value = node(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_array()) {
    wrong_type(key, *value, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> result;
  bool ok = true;
  std::size_t index = 0;
  for (const auto& element : *value->as_array()) {
    if (!element.is_string()) {
      m_problems.add(element.source(), key_path(key) + "[" + std::to_string(index) + "]",
                     "expected a string, found " + std::string(toml_type_name(element.type())));
      ok = false;
    } else {
      result.push_back(element.as_string()->get());
    }
    ++index;
  }
  if (!ok) return std::nullopt;
  return result;
}

const toml::table* TomlTableReader::table(std::string_view key) {
  const toml::node* value = node(key);
  if (value == nullptr) return nullptr;
  if (!value->is_table()) {
    wrong_type(key, *value, "a table");
    return nullptr;
  }
  return value->as_table();
}

const toml::array* TomlTableReader::array_of_tables(std::string_view key) {
  const toml::node* value = node(key);
  if (value == nullptr) return nullptr;
  if (!value->is_array_of_tables()) {
    wrong_type(key, *value, "an array of tables ([[" + key_path(key) + "]])");
    return nullptr;
  }
  return value->as_array();
}

void TomlTableReader::finish(const std::vector<std::pair<std::string_view, std::string_view>>& hints) {
  std::vector<std::string_view> known(m_known.begin(), m_known.end());
  for (const auto& [key, value] : m_table) {
    std::string_view name = key.str();
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string message = "unknown key";
    auto hint = std::find_if(hints.begin(), hints.end(), [&](const auto& h) { return h.first == name; });
    if (hint != hints.end()) {
      message += ": " + std::string(hint->second);
    } else if (auto suggestion = closest_match(name, known)) {
      message += "; did you mean \"" + *suggestion + "\"?";
    }
    m_problems.add(key.source(), key_path(name), message);
  }
}

}  // namespace dbkeeper
