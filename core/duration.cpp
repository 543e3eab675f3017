#include "core/duration.h"

#include <array>
#include <cctype>
#include <limits>

#include "core/error.h"

namespace dbkeeper {
namespace {

struct Unit {
  std::string_view suffix;
  long long milliseconds;
};

// Longest suffixes first so "ms" is not read as "m".
constexpr std::array<Unit, 6> k_units{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
    {"w", 7 * 24 * 60 * 60 * 1000},
}};

[[noreturn]] void reject(std::string_view text, std::string_view why) {
  throw Error(ErrorKind::config, "invalid duration \"" + std::string(text) + "\": " + std::string(why) +
                                     " (write a number followed by ms, s, m, h, d or w, e.g. \"90s\" or \"1h30m\")");
}

}  // namespace

Duration parse_duration(std::string_view text) {
  if (text.empty()) reject(text, "it is empty");
  long long total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) reject(text, "expected a digit");
    long long number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      number = number * 10 + (text[i] - '0');
      if (number > std::numeric_limits<int>::max()) reject(text, "the number is too large");
      ++i;
    }
    const Unit* unit = nullptr;
    for (const auto& candidate : k_units) {
      if (text.substr(i, candidate.suffix.size()) == candidate.suffix) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) reject(text, i == text.size() ? "the unit is missing" : "unknown unit");
    i += unit->suffix.size();
    total += number * unit->milliseconds;
    if (total > std::numeric_limits<long long>::max() / 4) reject(text, "it is too long");
  }
  return Duration(total);
}

std::string format_duration(Duration duration) {
  long long remaining = duration.count();
  if (remaining == 0) return "0s";
  std::string text;
  for (auto it = k_units.rbegin(); it != k_units.rend(); ++it) {
    // Weeks read worse than days ("30d", not "4w2d") unless exact.
    if (it->suffix == "w" && remaining % it->milliseconds != 0) continue;
    if (remaining >= it->milliseconds) {
      text += std::to_string(remaining / it->milliseconds) + std::string(it->suffix);
      remaining %= it->milliseconds;
    }
  }
  return text;
}

}  // namespace dbkeeper
