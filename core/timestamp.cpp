#include "core/timestamp.h"

#include <cctype>
#include <ctime>
#include <optional>
#include <string>

#include "core/error.h"

namespace dbkeeper {
namespace {

// Reads exactly `digits` digits at `pos`.
std::optional<int> number(std::string_view text, std::size_t& pos, int digits) {
  if (pos + digits > text.size()) return std::nullopt;
  int value = 0;
  for (int i = 0; i < digits; ++i) {
    char c = text[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += digits;
  return value;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

int days_in_month(int year, int month) {
  constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : k_days[month - 1];
}

}  // namespace

std::chrono::system_clock::time_point parse_timestamp(std::string_view text) {
  auto fail = [&]() -> Error {
    return Error(ErrorKind::config, "'" + std::string(text) +
                                        "' is not a point in time (write 2026-11-25T17:40:00Z, "
                                        "2026-11-25 17:40:00+01:00, or 2026-11-25 17:40:00 for local time)");
  };
  std::size_t pos = 0;
  std::tm tm{};
  auto year = number(text, pos, 4);
  if (!year || !expect(text, pos, '-')) throw fail();
  auto month = number(text, pos, 2);
  if (!month || !expect(text, pos, '-')) throw fail();
  auto day = number(text, pos, 2);
  if (!day || !(expect(text, pos, 'T') || expect(text, pos, ' '))) throw fail();
  auto hour = number(text, pos, 2);
  if (!hour || !expect(text, pos, ':')) throw fail();
  auto minute = number(text, pos, 2);
  if (!minute) throw fail();
  int second = 0;
  std::chrono::milliseconds fraction{0};
  if (expect(text, pos, ':')) {
    auto s = number(text, pos, 2);
    if (!s) throw fail();
    second = *s;
    if (expect(text, pos, '.')) {
      int scale = 100, millis = 0;
      std::size_t start = pos;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        millis += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) throw fail();
      fraction = std::chrono::milliseconds(millis);
    }
  }
  // mktime/timegm would turn 31 February into March: refuse it instead.
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month) || *hour > 23 || *minute > 59 ||
      second > 59)
    throw fail();
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = second;

  std::time_t seconds;
  if (pos == text.size()) {
    tm.tm_isdst = -1;
    seconds = std::mktime(&tm);
    if (seconds == -1) throw fail();
  } else {
    int offset_minutes = 0;
    if (expect(text, pos, 'Z') || expect(text, pos, 'z')) {
      // UTC
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int sign = text[pos++] == '-' ? -1 : 1;
      auto offset_hours = number(text, pos, 2);
      if (!offset_hours) throw fail();
      expect(text, pos, ':');
      int offset_rest = 0;
      if (pos < text.size()) {
        auto m = number(text, pos, 2);
        if (!m) throw fail();
        offset_rest = *m;
      }
      offset_minutes = sign * (*offset_hours * 60 + offset_rest);
    } else {
      throw fail();
    }
    if (pos != text.size()) throw fail();
    seconds = timegm(&tm) - offset_minutes * 60;
  }
  return std::chrono::system_clock::from_time_t(seconds) + fraction;
}

}  // namespace dbkeeper
