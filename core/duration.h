#pragma once
// Durations as written in the configuration: "500ms", "90s", "15m", "2h",
// "30d", "1w", or a sum of them such as "1h30m".

#include <chrono>
#include <string>
#include <string_view>

namespace dbkeeper {

using Duration = std::chrono::milliseconds;

// Throws Error{config} with a message saying what is wrong.
Duration parse_duration(std::string_view text);

// The shortest config spelling, e.g. 5400000ms -> "1h30m".
std::string format_duration(Duration duration);

}  // namespace dbkeeper
