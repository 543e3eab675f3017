#include "agent/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/open_repository.h"
#include "agent/repository_copies.h"
#include "backup/backup_job.h"
#include "backup/prune_job.h"
#include "backup/repository_copy.h"
#include "backup/verify_job.h"
#include "core/stop_request.h"

namespace dbkeeper {
namespace {

using Clock = std::chrono::system_clock;
constexpr int k_max_retries = 5;

// Sleeps up to `duration`, waking early for a stop request.
bool sleep_unless_stopped(std::chrono::milliseconds duration) {
  auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stop_requested()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return !stop_requested();
}

// One run of a job; false when it should be retried.
bool run_once(const std::string& kind, const Config& config, const Target& target, const Repository& repository) {
  if (kind == "full backup") {
    run_full_backup(target, repository, compression_settings(target));
    // A copy that fails is recorded and retried with the next backup or log pass.
    copy_to_repositories(config, target, repository);
    return true;
  }
  if (kind == "incremental backup") {
    run_incremental_backup(target, repository, compression_settings(target));
    copy_to_repositories(config, target, repository);
    return true;
  }
  if (kind == "copy") {
    copy_to_repositories(config, target, repository);
    return true;
  }
  if (kind == "verification") {
    auto report = verify_backup(target, repository, "latest", true);
    // A failed verification is a finding, not a hiccup: it is not retried.
    if (!report.passed) spdlog::error("verification of target '{}' FAILED: {}", target.name, report.reason);
    return true;
  }
  prune_target(target, repository, Clock::now(), false);
  int failures = 0;
  prune_repository_copies(config, target, Clock::now(), false, failures);
  return true;
}

}  // namespace

Scheduler::Scheduler(std::shared_ptr<const Config> config, std::shared_ptr<const Repository> repository, JobPool& pool,
                     bool catch_up_missed)
    : m_config(std::move(config)), m_repository(std::move(repository)), m_pool(pool) {
  auto now = Clock::now();
  for (const auto& target : m_config->targets) {
    auto add = [&](const std::string& expression, const char* kind) {
      if (expression.empty()) return;
      auto cron = CronExpression::parse(expression);
      if (auto next = cron.next_after(now)) m_entries.push_back(Entry{&target, kind, cron, *next});
    };
    add(target.schedule.full, "full backup");
    add(target.schedule.incremental, "incremental backup");
    add(target.schedule.verify, "verification");
    add(target.schedule.prune, "prune");
  }
  if (catch_up_missed)
    for (const auto& entry : m_entries) catch_up(entry);
  // Copies the previous agent did not finish (an outage, a restart) catch up now.
  for (const auto& target : m_config->targets)
    if (!copy_destinations(target).empty()) submit(Entry{&target, "copy", CronExpression::parse("* * * * *"), now});
  m_thread = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  m_thread.join();
}

std::vector<std::string> Scheduler::upcoming() const {
  std::lock_guard lock(m_mutex);
  std::vector<const Entry*> sorted;
  for (const auto& entry : m_entries) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) { return a->next < b->next; });
  std::vector<std::string> lines;
  for (const auto* entry : sorted)
    lines.push_back(entry->kind + " of " + entry->target->name + " at " + format_utc(entry->next));
  return lines;
}

void Scheduler::catch_up(const Entry& entry) {
  if (entry.kind == "prune") return;
  // One period of the schedule: the gap between its next two runs.
  auto after_next = entry.cron.next_after(entry.next);
  if (!after_next) return;
  auto period = *after_next - entry.next;
  std::optional<TimePoint> last;
  for (const auto& backup : m_repository->list(entry.target->name)) {
    if (entry.kind == "full backup" && backup.manifest.type == "full") last = backup.manifest.finished_at;
    // Any newer backup is a point an incremental would have added.
    if (entry.kind == "incremental backup") last = backup.manifest.finished_at;
    if (entry.kind == "verification" && backup.verification && backup.verification->passed)
      last = std::max(last.value_or(TimePoint{}), backup.verification->finished_at);
  }
  if (!last || Clock::now() - *last > period) {
    spdlog::info("{} of target '{}' is overdue (last {}); running it now", entry.kind, entry.target->name,
                 last ? format_utc(*last) : std::string("never"));
    submit(entry);
  }
}

void Scheduler::submit(const Entry& entry) {
  const Target& target = *entry.target;
  std::string kind = entry.kind;
  auto config = m_config;  // running jobs keep their configuration alive across reloads
  auto repository_of_config = m_repository;
  auto next_run = entry.cron.next_after(Clock::now() + std::chrono::minutes(1));
  m_pool.submit(target.name, kind, [config, repository_of_config, &target, kind, next_run] {
    const Repository& repository = *repository_of_config;
    auto backoff = std::chrono::minutes(1);
    for (int attempt = 0;; ++attempt) {
      try {
        if (run_once(kind, *config, target, repository)) return;
      } catch (const std::exception& e) {
        if (stop_requested()) return;
        if (attempt >= k_max_retries || (next_run && Clock::now() + backoff >= *next_run)) {
          spdlog::error("{} of target '{}' failed, giving up until its next run: {}", kind, target.name, e.what());
          return;
        }
        spdlog::warn("{} of target '{}' failed, retrying in {} min: {}", kind, target.name, backoff.count(), e.what());
      }
      if (!sleep_unless_stopped(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::minutes(16));
    }
  });
}

void Scheduler::loop() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    auto now = Clock::now();
    for (auto& entry : m_entries) {
      if (entry.next > now) continue;
      submit(entry);
      auto next = entry.cron.next_after(now);
      entry.next = next.value_or(Clock::time_point::max());
    }
    auto soonest = Clock::time_point::max();
    for (const auto& entry : m_entries) soonest = std::min(soonest, entry.next);
    // Wake at least every 30 s: the wall clock may jump.
    auto wait = std::chrono::seconds(30);
    if (soonest != Clock::time_point::max() && soonest - now < wait)
      wait = std::chrono::duration_cast<std::chrono::seconds>(soonest - now) + std::chrono::seconds(1);
    m_wake.wait_for(lock, wait, [&] { return m_stopping; });
  }
}

}  // namespace dbkeeper
