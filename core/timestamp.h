#pragma once
// Reads a point in time as a person writes it on the command line:
//
//   2026-11-25T17:40:00Z          UTC
//   2026-11-25 17:40:00.250+01:00 with an offset (also +0100, +01)
//   2026-11-25 17:40              local time (TZ), seconds optional
//
// Throws Error{config} that shows the accepted forms.

#include <chrono>
#include <string_view>

namespace dbkeeper {

std::chrono::system_clock::time_point parse_timestamp(std::string_view text);

}  // namespace dbkeeper
