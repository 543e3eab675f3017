#include "backup/engines/mysql_definer_scanner.h"

#include <optional>
#include <string_view>

namespace dbkeeper {
namespace {

constexpr std::string_view k_clause = "DEFINER=`";
// A clause longer than this is not one mariadb-dump wrote (user names are
// at most 128 characters, host names 255, each possibly doubled by quoting).
constexpr std::size_t k_longest_clause = 1024;

// Reads a backquoted name starting after its opening quote at `at`;
// advances `at` past the closing quote. nullopt when the text ends first.
std::optional<std::string> quoted_name(std::string_view text, std::size_t& at) {
  std::string name;
  while (at < text.size()) {
    char c = text[at++];
    if (c != '`') {
      name += c;
      continue;
    }
    if (at < text.size() && text[at] == '`') {  // `` is a quote inside the name
      name += '`';
      ++at;
      continue;
    }
    if (at == text.size()) return std::nullopt;  // a doubled quote may follow in the next write
    return name;
  }
  return std::nullopt;
}

}  // namespace

void MysqlDefinerScanner::write(std::span<const std::byte> data) {
  m_pending.append(reinterpret_cast<const char*>(data.data()), data.size());
  scan(false);
}

void MysqlDefinerScanner::finish() {
  scan(true);
}

void MysqlDefinerScanner::scan(bool final) {
  std::string_view text = m_pending;
  std::size_t consumed = 0;
  while (true) {
    auto start = text.find(k_clause, consumed);
    if (start == std::string_view::npos) {
      // Keep what could be the start of a clause cut by the write's end.
      consumed = text.size() > k_clause.size() ? text.size() - k_clause.size() + 1 : 0;
      break;
    }
    std::size_t at = start + k_clause.size();
    auto user = quoted_name(text, at);
    std::optional<std::string> host;
    bool complete = false;
    if (user && at < text.size()) {
      if (text.compare(at, 2, "@`") == 0) {
        at += 2;
        host = quoted_name(text, at);
        complete = host.has_value();
      } else if (text[at] != '@') {
        complete = true;  // DEFINER=`name` without a host: not an account clause
      }
    }
    if (!complete && !final && text.size() - start < k_longest_clause) {
      consumed = start;  // wait for the rest of this clause
      break;
    }
    if (complete && host) m_definers.emplace(*user, *host);
    consumed = complete ? at : start + k_clause.size();
  }
  m_pending.erase(0, std::min(consumed, m_pending.size()));
  if (final) m_pending.clear();
}

}  // namespace dbkeeper
