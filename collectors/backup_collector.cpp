#include "collectors/backup_collector.h"

#include "backup/backup_job.h"

#include <map>
#include <mutex>
#include <set>

#include "backup/log_archive.h"
#include "backup/point_in_time.h"
#include "backup/repository.h"
#include "collectors/metric_family_builder.h"
#include "core/cron_expression.h"

namespace dbkeeper {
namespace {

using prometheus::MetricType;

double seconds_since_epoch(TimePoint time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

// Backup types always exported, so rate() and absent() work before the first run.
constexpr const char* k_backup_types[] = {"full"};

class BackupCollector final : public Collector {
 public:
  BackupCollector(const Target& target, const Repository& repository)
      : m_target(target.name),
        m_repository_name(target.primary_repository.empty() ? "local" : target.primary_repository),
        m_continuous_log(target.schedule.continuous_log),
        m_incremental_scheduled(!target.schedule.incremental.empty()),
        m_repository(repository) {
    // What a late backup is judged by: the longest wait between two runs of its schedule.
    auto now = std::chrono::system_clock::now();
    for (const auto& [type, cron] :
         {std::pair{"full", target.schedule.full}, {"incremental", target.schedule.incremental}})
      if (!cron.empty())
        if (auto gap = CronExpression::parse(cron).longest_gap(now))
          m_schedule_intervals[type] = static_cast<double>(gap->count());
  }

  void refresh() override {
    const Repository& repository = m_repository;
    std::vector<std::string> problems;
    auto backups = repository.list(m_target, &problems);
    auto state = repository.read_state(m_target);
    // What could not be written to the repository still counts.
    for (const auto& [type, extra] : unrecorded_attempts(m_target).backups) {
      auto& counters = state.backups[type];
      counters.success += extra.success;
      counters.failure += extra.failure;
      counters.skipped += extra.skipped;
      for (const auto& [reason, count] : extra.failures_by_reason) counters.failures_by_reason[reason] += count;
      if (extra.last_attempt && (!counters.last_attempt || *extra.last_attempt > *counters.last_attempt))
        counters.last_attempt = extra.last_attempt;
    }
    auto running = repository.backup_running(m_target);
    auto stored = repository.stored_bytes(m_target);
    LogArchive archive(repository, m_target);
    // The archive may hold thousands of records: only new ones are read.
    auto log = LogState{archive.segments(m_segment_cache, &problems), archive.progress(), archive.pass_running()};
    auto families = build(backups, state, running, stored, log);
    std::lock_guard lock(m_mutex);
    m_families = std::move(families);
  }

  std::vector<prometheus::MetricFamily> collect() const override {
    std::lock_guard lock(m_mutex);
    return m_families;
  }

 private:
  struct LogState {
    std::vector<LogSegment> segments;
    std::optional<LogArchiveProgress> progress;
    bool pass_running = false;
  };

  std::vector<prometheus::MetricFamily> build(const std::vector<BackupEntry>& backups, const TargetState& state,
                                              const std::optional<std::string>& running, std::uint64_t stored,
                                              const LogState& log) const {
    auto last_success = make_family("backup_last_success_timestamp_seconds",
                                    "End time of the newest complete backup of that type.", MetricType::Gauge);
    auto last_attempt = make_family("backup_last_attempt_timestamp_seconds",
                                    "Start time of the newest backup attempt of that type.", MetricType::Gauge);
    auto last_duration = make_family("backup_last_duration_seconds",
                                     "Duration of the newest complete backup of that type.", MetricType::Gauge);
    auto last_size =
        make_family("backup_last_size_bytes", "Stored (compressed) size of the newest complete backup of that type.",
                    MetricType::Gauge);
    auto last_raw =
        make_family("backup_last_raw_size_bytes", "Size before compression of the newest complete backup of that type.",
                    MetricType::Gauge);
    auto runs = make_family("backup_runs_total", "Backup attempts by result, from the repository's records.",
                            MetricType::Counter);
    auto in_progress =
        make_family("backup_in_progress", "1 while a backup of that type is running.", MetricType::Gauge);
    auto repository_size = make_family("repository_size_bytes",
                                       "All stored bytes of the target: backups and log archive.", MetricType::Gauge);
    auto repository_backups = make_family("repository_backups", "Complete backups held, by type.", MetricType::Gauge);
    auto window_start = make_family("recovery_window_start_timestamp_seconds",
                                    "Oldest point in time that can be restored.", MetricType::Gauge);
    auto window_end = make_family("recovery_window_end_timestamp_seconds", "Newest point in time that can be restored.",
                                  MetricType::Gauge);
    auto verify_success = make_family("verify_last_success_timestamp_seconds",
                                      "End time of the newest verification that passed.", MetricType::Gauge);
    auto verify_result =
        make_family("verify_last_result", "1 if the newest verification passed, 0 if it failed.", MetricType::Gauge);
    auto verify_duration =
        make_family("verify_last_duration_seconds", "Duration of the newest verification.", MetricType::Gauge);
    auto verify_runs = make_family("verify_runs_total", "Verification attempts by result.", MetricType::Counter);
    auto log_archive_last =
        make_family("log_archive_last_timestamp_seconds",
                    "Time up to which the log archive holds everything the server logged.", MetricType::Gauge);
    auto schedule_interval =
        make_family("backup_schedule_interval_seconds",
                    "Longest wait between two scheduled backups of that type: how old the newest may be before it "
                    "is late.",
                    MetricType::Gauge);
    for (const auto& [type, seconds] : m_schedule_intervals)
      add_gauge(schedule_interval, {{"target", m_target}, {"type", type}}, seconds);
    auto backup_failures =
        make_family("backup_failures_total",
                    "Failed backup attempts by reason (connection, process, io, integrity, ...).", MetricType::Counter);
    auto verify_failures =
        make_family("verify_failures_total", "Failed verifications by reason (integrity, connection, process, ...).",
                    MetricType::Counter);

    std::set<std::string> types(std::begin(k_backup_types), std::end(k_backup_types));
    for (const auto& [type, counters] : state.backups) types.insert(type);
    for (const auto& backup : backups) types.insert(backup.manifest.type);
    if (m_continuous_log || !log.segments.empty()) types.insert("log");
    if (m_incremental_scheduled) types.insert("incremental");

    // The repository the target's backups are made in, on every series of what it holds.
    const std::string& in = m_repository_name;
    for (const auto& type : types) {
      std::vector<prometheus::ClientMetric::Label> labels{{"target", m_target}, {"type", type}, {"repository", in}};
      const BackupEntry* newest = nullptr;
      double count = 0;
      for (const auto& backup : backups) {
        if (backup.manifest.type != type) continue;
        ++count;
        if (!newest || backup.manifest.finished_at > newest->manifest.finished_at) newest = &backup;
      }
      if (type == "log") {
        // A pass that found nothing new is a success too: the archive is complete up to its start.
        if (log.progress) add_gauge(last_success, labels, seconds_since_epoch(log.progress->complete_until));
        if (!log.segments.empty()) {
          const auto& newest_segment = log.segments.back().artifact;
          add_gauge(last_size, labels, static_cast<double>(newest_segment.stored_bytes));
          add_gauge(last_raw, labels, static_cast<double>(newest_segment.raw_bytes));
        }
        count = static_cast<double>(log.segments.size());
      } else if (newest) {
        add_gauge(last_success, labels, seconds_since_epoch(newest->manifest.finished_at));
        add_gauge(last_duration, labels, newest->manifest.duration_seconds());
        add_gauge(last_size, labels, static_cast<double>(newest->manifest.stored_bytes()));
        add_gauge(last_raw, labels, static_cast<double>(newest->manifest.raw_bytes()));
      }
      add_gauge(repository_backups, labels, count);
      bool busy = type == "log" ? log.pass_running : running && *running == type;
      add_gauge(in_progress, labels, busy ? 1 : 0);
      RunCounters counters;
      if (auto it = state.backups.find(type); it != state.backups.end()) counters = it->second;
      if (counters.last_attempt) add_gauge(last_attempt, labels, seconds_since_epoch(*counters.last_attempt));
      add_counter(runs, {{"target", m_target}, {"type", type}, {"repository", in}, {"result", "success"}},
                  static_cast<double>(counters.success));
      add_counter(runs, {{"target", m_target}, {"type", type}, {"repository", in}, {"result", "failure"}},
                  static_cast<double>(counters.failure));
      add_counter(runs, {{"target", m_target}, {"type", type}, {"repository", in}, {"result", "skipped"}},
                  static_cast<double>(counters.skipped));
      for (const auto& [reason, count] : counters.failures_by_reason)
        add_counter(backup_failures, {{"target", m_target}, {"type", type}, {"repository", in}, {"reason", reason}},
                    static_cast<double>(count));
    }

    std::vector<prometheus::ClientMetric::Label> target_label{{"target", m_target}};
    std::vector<prometheus::ClientMetric::Label> held_in{{"target", m_target}, {"repository", in}};
    add_gauge(repository_size, held_in, static_cast<double>(stored));
    auto window = recovery_window(backups, log.segments, log.progress);
    if (window.start) add_gauge(window_start, held_in, seconds_since_epoch(*window.start));
    if (window.end) add_gauge(window_end, held_in, seconds_since_epoch(*window.end));
    if (log.progress) add_gauge(log_archive_last, held_in, seconds_since_epoch(log.progress->complete_until));

    const VerificationRecord* newest_verification = nullptr;
    const VerificationRecord* newest_passed = nullptr;
    for (const auto& backup : backups) {
      // A verification that could not run says nothing about the backup.
      if (!backup.verification || backup.verification->result == "could-not-run") continue;
      const auto& record = *backup.verification;
      if (!newest_verification || record.finished_at > newest_verification->finished_at) newest_verification = &record;
      if (record.passed && (!newest_passed || record.finished_at > newest_passed->finished_at)) newest_passed = &record;
    }
    if (newest_passed) add_gauge(verify_success, target_label, seconds_since_epoch(newest_passed->finished_at));
    if (newest_verification) {
      add_gauge(verify_result, target_label, newest_verification->passed ? 1 : 0);
      add_gauge(verify_duration, target_label, newest_verification->duration_seconds());
    }
    add_counter(verify_runs, {{"target", m_target}, {"result", "success"}},
                static_cast<double>(state.verifications.success));
    add_counter(verify_runs, {{"target", m_target}, {"result", "failure"}},
                static_cast<double>(state.verifications.failure));
    add_counter(verify_runs, {{"target", m_target}, {"result", "could_not_run"}},
                static_cast<double>(state.verifications.could_not_run));
    for (const auto& [reason, count] : state.verifications.failures_by_reason)
      add_counter(verify_failures, {{"target", m_target}, {"reason", reason}}, static_cast<double>(count));

    return {last_success, last_attempt,     last_duration,   last_size,          last_raw,
            runs,         in_progress,      repository_size, repository_backups, window_start,
            window_end,   log_archive_last, verify_success,  verify_result,      verify_duration,
            verify_runs,  backup_failures,  verify_failures, schedule_interval};
  }

  std::string m_target;
  std::string m_repository_name;
  std::map<std::string, double> m_schedule_intervals;  // seconds, by backup type
  bool m_continuous_log;
  bool m_incremental_scheduled;
  LogSegmentCache m_segment_cache;  // refresh() only
  Repository m_repository;
  mutable std::mutex m_mutex;
  std::vector<prometheus::MetricFamily> m_families;
};

}  // namespace

std::unique_ptr<Collector> make_backup_collector(const CollectorContext& context) {
  return std::make_unique<BackupCollector>(*context.target, *context.repository);
}

}  // namespace dbkeeper
