#pragma once
// Drops the lines that start with one of a few prefixes and passes every
// other byte on unchanged. Only a line's first bytes are held back (as many
// as the longest prefix), so a line of any length streams in constant memory.

#include <string>
#include <vector>

#include "backup/pipeline/byte_sink.h"

namespace dbkeeper {

class LineFilterSink final : public ByteSink {
 public:
  LineFilterSink(ByteSink& next, std::vector<std::string> dropped_prefixes);
  void write(std::span<const std::byte> data) override;
  void finish() override;
  std::size_t dropped_lines() const { return m_dropped_lines; }

 private:
  enum class State { line_start, passing, dropping };
  void decide();
  void forward(std::string_view text);
  void flush();

  ByteSink& m_next;
  std::vector<std::string> m_prefixes;
  std::size_t m_longest = 0;
  State m_state = State::line_start;
  std::string m_head;  // the start of the current line while undecided
  std::string m_out;   // kept bytes of the current write()
  std::size_t m_dropped_lines = 0;
};

}  // namespace dbkeeper
