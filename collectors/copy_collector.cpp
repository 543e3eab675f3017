#include "collectors/copy_collector.h"

#include <mutex>

#include "backup/log_archive.h"
#include "backup/repository_copy.h"
#include "collectors/metric_family_builder.h"

namespace dbkeeper {
namespace {

struct CopyState {
  std::string repository;
  double lag_seconds = 0;
  std::optional<TimePoint> last_success;
  std::uint64_t failures = 0;
  std::uint64_t bytes_sent = 0;
};

class CopyCollector final : public Collector {
 public:
  CopyCollector(const Target& target, const Repository& repository) : m_target(target), m_repository(repository) {}

  void refresh() override {
    std::vector<CopyState> states;
    if (!copy_destinations(m_target).empty()) {
      auto now = std::chrono::system_clock::now();
      auto backups = m_repository.list(m_target.name);
      LogArchive archive(m_repository, m_target.name);
      auto segments = archive.segments(m_segment_cache);
      for (const auto& name : copy_destinations(m_target)) {
        auto status = read_copy_status(m_repository, m_target.name, name);
        std::optional<TimePoint> oldest;
        // The backups are made in the primary store; only log segments are sent there.
        bool primary = name == m_target.primary_repository;
        for (const auto& backup : backups)
          if (!primary && !status.copied_backups.count(backup.manifest.id) &&
              (!oldest || backup.manifest.finished_at < *oldest))
            oldest = backup.manifest.finished_at;
        for (const auto& segment : segments)
          if (segment.sequence > status.copied_segments_through && (!oldest || segment.archived_at < *oldest))
            oldest = segment.archived_at;
        CopyState state{name, 0, status.last_success, status.failures_total, status.bytes_sent_total};
        if (oldest) state.lag_seconds = std::max(0.0, std::chrono::duration<double>(now - *oldest).count());
        states.push_back(state);
      }
    }
    std::lock_guard lock(m_mutex);
    m_states = std::move(states);
  }

  std::vector<prometheus::MetricFamily> collect() const override {
    auto lag = make_family("repository_copy_lag_seconds",
                           "Age of the oldest backup or log segment complete locally and not yet in that repository "
                           "(0 when everything is copied).",
                           prometheus::MetricType::Gauge);
    auto success =
        make_family("repository_copy_last_success_timestamp_seconds",
                    "Start of the newest copy pass that left nothing pending.", prometheus::MetricType::Gauge);
    auto failures =
        make_family("repository_copy_failures_total", "Copy passes that failed.", prometheus::MetricType::Counter);
    auto sent = make_family("repository_copy_sent_bytes_total", "Bytes the copy job sent to that repository.",
                            prometheus::MetricType::Counter);
    std::lock_guard lock(m_mutex);
    for (const auto& state : m_states) {
      std::vector<prometheus::ClientMetric::Label> labels{{"target", m_target.name}, {"repository", state.repository}};
      add_gauge(lag, labels, state.lag_seconds);
      if (state.last_success)
        add_gauge(success, labels, std::chrono::duration<double>(state.last_success->time_since_epoch()).count());
      add_counter(failures, labels, static_cast<double>(state.failures));
      add_counter(sent, labels, static_cast<double>(state.bytes_sent));
    }
    if (m_states.empty()) return {};
    return {lag, success, failures, sent};
  }

 private:
  Target m_target;
  Repository m_repository;
  LogSegmentCache m_segment_cache;
  mutable std::mutex m_mutex;
  std::vector<CopyState> m_states;
};

}  // namespace

std::unique_ptr<Collector> make_copy_collector(const CollectorContext& context) {
  return std::make_unique<CopyCollector>(*context.target, *context.repository);
}

}  // namespace dbkeeper
