#pragma once
// Reads a mariadb-dump/mysqldump SQL stream as it passes through the
// pipeline and records what it contains: each table created, the rows its
// INSERT statements carry, the binlog position and GTID that --master-data
// and --gtid print, and whether the dump completed. Row counts taken this way
// are exactly the rows in the artifact, i.e. in the dump's own snapshot.
// Constant memory: it keeps only the start of the current line.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backup/manifest.h"
#include "backup/pipeline/byte_sink.h"

namespace dbkeeper {

class MysqlDumpScanner final : public ByteSink {
 public:
  explicit MysqlDumpScanner(ByteSink* next = nullptr) : m_next(next) {}
  void write(std::span<const std::byte> data) override;
  void finish() override;

  // Tables in the order the dump created them, with their row counts.
  std::vector<TableRecord> tables() const;
  const LogPosition& position() const { return m_position; }
  bool completed() const { return m_completed; }

 private:
  enum class State { line, insert_name, insert_values, string_literal, string_quote, string_escape };
  void end_of_line();
  void consume(char c);

  ByteSink* m_next;
  State m_state = State::line;
  std::string m_line;        // start of the current line, capped
  std::string m_table;       // table of the INSERT being read
  int m_depth = 0;           // parenthesis depth inside VALUES
  std::uint64_t m_rows = 0;  // rows of the current INSERT
  std::vector<std::string> m_order;
  std::map<std::string, std::uint64_t> m_rows_by_table;
  LogPosition m_position;
  bool m_completed = false;
};

}  // namespace dbkeeper
