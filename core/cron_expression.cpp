#include "core/cron_expression.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "core/error.h"

namespace dbkeeper {
namespace {

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  const std::array<std::string_view, 13>* names;  // index = value, or nullptr
};

constexpr std::array<std::string_view, 13> k_month_names{"",    "jan", "feb", "mar", "apr", "may", "jun",
                                                         "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 13> k_weekday_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::array<FieldSpec, 5> k_fields{{
    {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},
    {"day of month", 1, 31, nullptr},
    {"month", 1, 12, &k_month_names},
    {"day of week", 0, 7, &k_weekday_names},
}};

class FieldParser {
 public:
  FieldParser(std::string_view expression, const FieldSpec& spec) : m_expression(expression), m_spec(spec) {}

  [[noreturn]] void reject(std::string_view field, const std::string& why) const {
    throw Error(ErrorKind::config, "invalid cron expression \"" + std::string(m_expression) + "\": " +
                                       std::string(m_spec.name) + " field \"" + std::string(field) + "\": " + why);
  }

  int value(std::string_view field, std::string_view token) const {
    if (token.empty()) reject(field, "a value is missing");
    if (m_spec.names != nullptr && std::isalpha(static_cast<unsigned char>(token[0]))) {
      std::string lower(token);
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      for (std::size_t i = 0; i < m_spec.names->size(); ++i)
        if (!(*m_spec.names)[i].empty() && (*m_spec.names)[i] == lower) return static_cast<int>(i);
      reject(field, "unknown name \"" + std::string(token) + "\"");
    }
    int number = 0;
    for (char c : token) {
      if (!std::isdigit(static_cast<unsigned char>(c))) reject(field, "\"" + std::string(token) + "\" is not a number");
      number = number * 10 + (c - '0');
      if (number > 1000) break;
    }
    if (number < m_spec.min || number > m_spec.max)
      reject(field, std::to_string(number) + " is out of range " + std::to_string(m_spec.min) + "-" +
                        std::to_string(m_spec.max));
    return number;
  }

  // Returns the values the field selects and whether it was a bare `*`.
  std::vector<int> parse(std::string_view field, bool& unrestricted) const {
    std::vector<int> values;
    unrestricted = field == "*" || field == "?";
    std::size_t start = 0;
    while (start <= field.size()) {
      std::size_t comma = field.find(',', start);
      std::string_view item =
          field.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      parse_item(field, item, values);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return values;
  }

 private:
  void parse_item(std::string_view field, std::string_view item, std::vector<int>& values) const {
    if (item.empty()) reject(field, "empty list element");
    int step = 1;
    std::size_t slash = item.find('/');
    std::string_view range = item.substr(0, slash);
    if (slash != std::string_view::npos) {
      std::string_view step_text = item.substr(slash + 1);
      if (step_text.empty() ||
          !std::all_of(step_text.begin(), step_text.end(), [](unsigned char c) { return std::isdigit(c); }))
        reject(field, "step \"" + std::string(step_text) + "\" is not a positive number");
      step = std::stoi(std::string(step_text.substr(0, 6)));
      if (step <= 0 || step > m_spec.max) reject(field, "step " + std::to_string(step) + " is out of range");
    }
    int low, high;
    if (range == "*" || range == "?") {
      low = m_spec.min;
      high = m_spec.max;
    } else if (std::size_t dash = range.find('-'); dash != std::string_view::npos) {
      low = value(field, range.substr(0, dash));
      high = value(field, range.substr(dash + 1));
      if (low > high) reject(field, "range " + std::string(range) + " runs backwards");
    } else {
      low = value(field, range);
      // "5/15" means from 5 to the end in steps of 15, as in Vixie cron.
      high = slash != std::string_view::npos ? m_spec.max : low;
    }
    for (int v = low; v <= high; v += step) values.push_back(v);
  }

  std::string_view m_expression;
  const FieldSpec& m_spec;
};

std::string_view expand_shorthand(std::string_view text) {
  if (text == "@hourly") return "0 * * * *";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  return text;
}

}  // namespace

CronExpression CronExpression::parse(std::string_view text) {
  CronExpression cron;
  cron.m_text = std::string(text);
  std::string_view expanded = expand_shorthand(text);
  if (!expanded.empty() && expanded.front() == '@')
    throw Error(ErrorKind::config, "invalid cron expression \"" + std::string(text) +
                                       "\": unknown shorthand (use @hourly, @daily, @weekly, @monthly or @yearly)");

  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < expanded.size()) {
    while (i < expanded.size() && std::isspace(static_cast<unsigned char>(expanded[i]))) ++i;
    std::size_t start = i;
    while (i < expanded.size() && !std::isspace(static_cast<unsigned char>(expanded[i]))) ++i;
    if (i > start) fields.push_back(expanded.substr(start, i - start));
  }
  if (fields.size() != 5)
    throw Error(ErrorKind::config, "invalid cron expression \"" + std::string(text) + "\": expected 5 fields " +
                                       "(minute hour day-of-month month day-of-week), found " +
                                       std::to_string(fields.size()));

  for (std::size_t f = 0; f < 5; ++f) {
    bool unrestricted = false;
    auto values = FieldParser(text, k_fields[f]).parse(fields[f], unrestricted);
    for (int v : values) {
      auto bit = static_cast<std::size_t>(v);
      switch (f) {
        case 0: cron.m_minutes.set(bit); break;
        case 1: cron.m_hours.set(bit); break;
        case 2: cron.m_days_of_month.set(bit); break;
        case 3: cron.m_months.set(bit); break;
        case 4: cron.m_days_of_week.set(bit % 7); break;
      }
    }
    if (f == 1) cron.m_fixed_time = !fields[0].starts_with('*') && !fields[1].starts_with('*');
    if (f == 2) cron.m_day_of_month_restricted = !unrestricted;
    if (f == 4) cron.m_day_of_week_restricted = !unrestricted;
  }
  return cron;
}

bool CronExpression::day(int day_of_month, int day_of_week) const {
  bool dom = m_days_of_month.test(static_cast<std::size_t>(day_of_month));
  bool dow = m_days_of_week.test(static_cast<std::size_t>(day_of_week));
  if (m_day_of_month_restricted && m_day_of_week_restricted) return dom || dow;
  return dom && dow;
}

bool CronExpression::matches_wall_time(const struct tm& local) const {
  return minute(local.tm_min) && hour(local.tm_hour) && month(local.tm_mon + 1) && day(local.tm_mday, local.tm_wday);
}

namespace {

using Clock = std::chrono::system_clock;

std::tm local_time(Clock::time_point time) {
  std::time_t t = Clock::to_time_t(time);
  std::tm local{};
  localtime_r(&t, &local);
  return local;
}

// Minutes since an arbitrary epoch of the wall clock, to compare wall times.
long long wall_minutes(const std::tm& local) {
  std::tm copy = local;
  return static_cast<long long>(timegm(&copy)) / 60;
}

}  // namespace

std::optional<Clock::time_point> CronExpression::next_after(Clock::time_point after) const {
  using namespace std::chrono;
  auto t = time_point_cast<minutes>(after) + minutes(1);
  const auto limit = t + hours(24 * 366 * 5);
  while (t < limit) {
    std::tm local = local_time(t);
    std::tm before = local_time(t - minutes(1));
    long long gap = wall_minutes(local) - wall_minutes(before);
    if (gap > 1 && m_fixed_time) {
      // The clock sprang forward: a fixed-time job whose time was skipped runs now.
      for (long long skipped = 1; skipped < gap; ++skipped) {
        std::time_t wall = static_cast<std::time_t>((wall_minutes(before) + skipped) * 60);
        std::tm skipped_time{};
        gmtime_r(&wall, &skipped_time);
        if (matches_wall_time(skipped_time)) return t;
      }
    }
    if (!month(local.tm_mon + 1) || !day(local.tm_mday, local.tm_wday) || !hour(local.tm_hour)) {
      // Jump to the next wall-clock hour; a gap or a repeat is still seen there.
      t += minutes(60 - local.tm_min);
      continue;
    }
    if (!minute(local.tm_min)) {
      t += minutes(1);
      continue;
    }
    if (m_fixed_time) {
      // The clock fell back and this wall time already happened: run once.
      std::tm earlier = local_time(t - hours(1));
      if (wall_minutes(earlier) == wall_minutes(local)) {
        t += minutes(1);
        continue;
      }
      std::tm earlier_half = local_time(t - minutes(30));
      if (wall_minutes(earlier_half) == wall_minutes(local)) {
        t += minutes(1);
        continue;
      }
    }
    return time_point_cast<Clock::duration>(t);
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> CronExpression::longest_gap(Clock::time_point after, int runs) const {
  auto previous = next_after(after);
  if (!previous) return std::nullopt;
  std::optional<std::chrono::seconds> longest;
  for (int i = 1; i < runs; ++i) {
    auto next = next_after(*previous);
    if (!next) break;
    auto gap = std::chrono::duration_cast<std::chrono::seconds>(*next - *previous);
    if (!longest || gap > *longest) longest = gap;
    previous = next;
  }
  return longest;
}

}  // namespace dbkeeper
