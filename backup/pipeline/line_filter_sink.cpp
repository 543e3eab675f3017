#include "backup/pipeline/line_filter_sink.h"

#include <algorithm>

namespace dbkeeper {

LineFilterSink::LineFilterSink(ByteSink& next, std::vector<std::string> dropped_prefixes)
    : m_next(next), m_prefixes(std::move(dropped_prefixes)) {
  for (const auto& prefix : m_prefixes) m_longest = std::max(m_longest, prefix.size());
}

// Kept lines are gathered and passed on once per write(): the next stage may
// be a pipe, and a write per short line would cost a system call each.
void LineFilterSink::forward(std::string_view text) {
  m_out.append(text);
}

void LineFilterSink::flush() {
  if (!m_out.empty()) m_next.write(std::as_bytes(std::span(m_out.data(), m_out.size())));
  m_out.clear();
}

// Called while undecided: drop, pass, or keep waiting for more of the head.
void LineFilterSink::decide() {
  bool could_match = false;
  for (const auto& prefix : m_prefixes) {
    std::size_t n = std::min(prefix.size(), m_head.size());
    if (m_head.compare(0, n, prefix, 0, n) != 0) continue;
    if (m_head.size() >= prefix.size()) {
      bool whole_line = m_head.back() == '\n';
      if (whole_line) ++m_dropped_lines;
      m_state = whole_line ? State::line_start : State::dropping;
      m_head.clear();
      return;
    }
    could_match = true;
  }
  bool line_ended = !m_head.empty() && m_head.back() == '\n';
  if (could_match && !line_ended && m_head.size() < m_longest) return;
  forward(m_head);
  m_head.clear();
  m_state = line_ended ? State::line_start : State::passing;
}

void LineFilterSink::write(std::span<const std::byte> data) {
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  while (!text.empty()) {
    auto newline = text.find('\n');
    std::size_t line_part = newline == std::string_view::npos ? text.size() : newline + 1;
    switch (m_state) {
      case State::passing:
        forward(text.substr(0, line_part));
        if (newline != std::string_view::npos) m_state = State::line_start;
        text.remove_prefix(line_part);
        break;
      case State::dropping:
        if (newline != std::string_view::npos) {
          ++m_dropped_lines;
          m_state = State::line_start;
        }
        text.remove_prefix(line_part);
        break;
      case State::line_start: {
        // Take bytes one line-part at a time, but no more than the head needs.
        std::size_t take = std::min(line_part, m_longest + 1 - std::min(m_head.size(), m_longest));
        m_head.append(text.substr(0, take));
        text.remove_prefix(take);
        decide();
        break;
      }
    }
  }
  flush();
}

void LineFilterSink::finish() {
  if (m_state == State::line_start && !m_head.empty()) {
    // An unterminated last line: it is dropped only if it holds a whole prefix.
    bool matched = false;
    for (const auto& prefix : m_prefixes) matched = matched || m_head.starts_with(prefix);
    if (!matched) forward(m_head);
    m_head.clear();
  }
  flush();
  m_next.finish();
}

}  // namespace dbkeeper
