#include "backup/engines/mysql_dump_scanner.h"

#include <array>
#include <regex>

namespace dbkeeper {
namespace {

constexpr std::size_t k_line_cap = 512;
constexpr std::string_view k_insert = "INSERT INTO `";

// `a``b` -> a`b, reading from just after the opening backtick.
std::string backtick_name(std::string_view text) {
  std::string name;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '`') {
      if (i + 1 < text.size() && text[i + 1] == '`') {
        name += '`';
        ++i;
        continue;
      }
      break;
    }
    name += text[i];
  }
  return name;
}

}  // namespace

namespace {

// Bytes that change the state inside VALUES (...): quotes, parentheses and
// the statement's end. Everything else (digits, commas, hex) is skipped in
// bulk; most of a dump is such bytes.
constexpr std::array<bool, 256> k_values_special = [] {
  std::array<bool, 256> table{};
  for (unsigned char c : {'\'', '(', ')', ';'}) table[c] = true;
  return table;
}();

constexpr std::array<bool, 256> k_string_special = [] {
  std::array<bool, 256> table{};
  for (unsigned char c : {'\'', '\\'}) table[c] = true;
  return table;
}();

}  // namespace

void MysqlDumpScanner::write(std::span<const std::byte> data) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t size = data.size();
  std::size_t i = 0;
  while (i < size) {
    if (m_state == State::string_literal) {
      while (i < size && !k_string_special[bytes[i]]) ++i;
      if (i == size) break;
      m_state = bytes[i] == '\'' ? State::string_quote : State::string_escape;
      ++i;
      continue;
    }
    if (m_state == State::insert_values) {
      while (i < size && !k_values_special[bytes[i]]) ++i;
      if (i == size) break;
    }
    consume(static_cast<char>(bytes[i]));
    ++i;
  }
  if (m_next) m_next->write(data);
}

void MysqlDumpScanner::consume(char c) {
  switch (m_state) {
    case State::string_escape: m_state = State::string_literal; return;
    case State::string_quote:
      // '' inside a literal is an escaped quote (NO_BACKSLASH_ESCAPES dumps).
      if (c == '\'') {
        m_state = State::string_literal;
        return;
      }
      m_state = State::insert_values;
      [[fallthrough]];
    case State::insert_values:
      if (c == '\'') {
        m_state = State::string_literal;
      } else if (c == '(') {
        if (m_depth++ == 0) ++m_rows;
      } else if (c == ')') {
        --m_depth;
      } else if (c == ';' && m_depth == 0) {
        m_rows_by_table[m_table] += m_rows;
        m_state = State::line;
        m_line.clear();
      }
      return;
    case State::insert_name:
      m_line += c;
      // Tables with generated, invisible or system-versioning columns are
      // dumped with a column list: INSERT INTO `t` (`a`, `b`) VALUES ...
      if (m_line.ends_with("` VALUES") || m_line.ends_with("` VALUES ") || m_line.ends_with("`) VALUES") ||
          m_line.ends_with("`) VALUES ") || m_line.ends_with(" row_end) VALUES ") ||
          m_line.ends_with(" row_end) VALUES")) {
        m_table = backtick_name(std::string_view(m_line).substr(k_insert.size()));
        m_rows = 0;
        m_depth = 0;
        m_state = State::insert_values;
      } else if (c == '\n' || m_line.size() > 4 * k_line_cap) {
        m_state = State::line;  // not an INSERT we understand; stay safe
        m_line.clear();
      }
      return;
    case State::line:
      if (c == '\n') {
        end_of_line();
        return;
      }
      if (m_line.size() < k_line_cap) m_line += c;
      if (m_line.size() == k_insert.size() && m_line == k_insert) m_state = State::insert_name;
      return;
    case State::string_literal: return;
  }
}

void MysqlDumpScanner::end_of_line() {
  static const std::regex k_change_master(R"(^-- CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+))");
  static const std::regex k_gtid(R"(^-- SET GLOBAL gtid_slave_pos='([^']*)')");
  std::string_view line = m_line;
  if (line.starts_with("CREATE TABLE `")) {
    std::string name = backtick_name(line.substr(14));
    if (m_rows_by_table.emplace(name, 0).second) m_order.push_back(name);
  } else if (line.starts_with("-- ")) {
    std::smatch match;
    if (std::regex_search(m_line, match, k_change_master)) {
      m_position.binlog_file = match[1];
      m_position.binlog_position = std::stoull(match[2]);
    } else if (std::regex_search(m_line, match, k_gtid)) {
      m_position.gtid = match[1];
    } else if (line.starts_with("-- Dump completed")) {
      m_completed = true;
    }
  }
  m_line.clear();
}

void MysqlDumpScanner::finish() {
  if (m_state == State::line && !m_line.empty()) end_of_line();
  if (m_next) m_next->finish();
}

std::vector<TableRecord> MysqlDumpScanner::tables() const {
  std::vector<TableRecord> result;
  for (const auto& name : m_order) result.push_back({name, m_rows_by_table.at(name)});
  return result;
}

}  // namespace dbkeeper
