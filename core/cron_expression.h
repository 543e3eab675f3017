#pragma once
// Five-field cron expressions (minute hour day-of-month month day-of-week),
// as in Vixie cron: numbers, `*`, ranges `a-b`, steps `*/n` and `a-b/n`,
// lists `a,b`, month and weekday names (JAN, MON; any case), 7 = Sunday, and
// the shorthands @hourly @daily @midnight @weekly @monthly @yearly @annually.
// When both day fields are restricted a day matches if either does.
//
// Times are local (the TZ of the process). Daylight saving follows Vixie
// cron: a job whose minute and hour are both fixed runs once when the clock
// falls back (at the first of the repeated times), and runs right after the
// gap when the clock springs forward over its time; jobs with a wildcard
// (`*`, `*/n`) minute or hour simply run at every wall-clock time that
// exists.

#include <bitset>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace dbkeeper {

class CronExpression {
 public:
  // Throws Error{config} naming the field and the value that is wrong.
  static CronExpression parse(std::string_view text);

  const std::string& text() const { return m_text; }
  bool minute(int m) const { return m_minutes.test(static_cast<std::size_t>(m)); }
  bool hour(int h) const { return m_hours.test(static_cast<std::size_t>(h)); }
  bool month(int m) const { return m_months.test(static_cast<std::size_t>(m)); }
  // `day_of_week` is 0 (Sunday) to 6.
  bool day(int day_of_month, int day_of_week) const;

  // The first time strictly after `after` (at a whole minute) when the job
  // is due; nullopt when it never is within five years ("0 0 30 2 *").
  std::optional<std::chrono::system_clock::time_point> next_after(std::chrono::system_clock::time_point after) const;

  // The longest wait between two of the next `runs` runs after `after`:
  // how late a run may be expected to be ("0 4 * * 1-5": Friday to Monday,
  // three days). nullopt when it never runs twice.
  std::optional<std::chrono::seconds> longest_gap(std::chrono::system_clock::time_point after, int runs = 64) const;

 private:
  std::string m_text;
  std::bitset<60> m_minutes;
  std::bitset<24> m_hours;
  std::bitset<32> m_days_of_month;  // bit 0 unused
  std::bitset<13> m_months;         // bit 0 unused
  std::bitset<7> m_days_of_week;
  bool m_day_of_month_restricted = false;
  bool m_day_of_week_restricted = false;
  bool m_fixed_time = false;  // minute and hour fields do not start with '*'

  bool matches_wall_time(const struct tm& local) const;
};

}  // namespace dbkeeper
