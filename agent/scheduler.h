#pragma once
// Fires each target's cron schedules (full, verify, prune) into the job
// pool. A failed job is retried with bounded exponential backoff (1, 2, 4,
// 8, 16 minutes; five retries at most, never past the next scheduled run),
// and every attempt is counted in the repository like any other. At start,
// a job whose last success is older than one period of its schedule runs
// once at once, so an agent that was down does not wait for the next slot.
// `log = "continuous"` is reserved for the log streamer.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/config.h"
#include "agent/job_pool.h"
#include "backup/repository.h"
#include "core/cron_expression.h"

namespace dbkeeper {

class Scheduler {
 public:
  // `catch_up` is true at agent start and false after a reload.
  // `repository` is the process's, opened from `config`.
  Scheduler(std::shared_ptr<const Config> config, std::shared_ptr<const Repository> repository, JobPool& pool,
            bool catch_up);
  ~Scheduler();  // stops firing; jobs already in the pool go on
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // "full backup of shop at 2026-11-29T04:00:00.000Z", soonest first.
  std::vector<std::string> upcoming() const;

 private:
  struct Entry {
    const Target* target;
    std::string kind;  // "full backup", "verification", "prune"
    CronExpression cron;
    std::chrono::system_clock::time_point next;
  };
  void loop();
  void submit(const Entry& entry);
  void catch_up(const Entry& entry);

  std::shared_ptr<const Config> m_config;
  std::shared_ptr<const Repository> m_repository;
  JobPool& m_pool;
  std::vector<Entry> m_entries;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  std::thread m_thread;
};

}  // namespace dbkeeper
