#pragma once
// Five-field cron expressions (minute hour day-of-month month day-of-week),
// as in Vixie cron: numbers, `*`, ranges `a-b`, steps `*/n` and `a-b/n`,
// lists `a,b`, month and weekday names (JAN, MON; any case), 7 = Sunday, and
// the shorthands @hourly @daily @midnight @weekly @monthly @yearly @annually.
// When both day fields are restricted a day matches if either does.

#include <bitset>
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

 private:
  std::string m_text;
  std::bitset<60> m_minutes;
  std::bitset<24> m_hours;
  std::bitset<32> m_days_of_month;  // bit 0 unused
  std::bitset<13> m_months;         // bit 0 unused
  std::bitset<7> m_days_of_week;
  bool m_day_of_month_restricted = false;
  bool m_day_of_week_restricted = false;
};

}  // namespace dbkeeper
