#pragma once
// Runs scheduled jobs on their own threads. Jobs of one target never
// overlap: a job due while its target is busy waits until the target is free
// (and a second request of the same kind for the same target while one is
// waiting or running is dropped, counted in the log). At most
// `max_concurrent` jobs run at once across all targets.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dbkeeper {

class JobPool {
 public:
  explicit JobPool(std::size_t max_concurrent);
  // Waits for every running job; callers raise request_stop() first so jobs end quickly.
  ~JobPool();
  JobPool(const JobPool&) = delete;
  JobPool& operator=(const JobPool&) = delete;

  // Queues `job`; false when the same kind is already queued or running for the target.
  bool submit(const std::string& target, const std::string& kind, std::function<void()> job);
  // "full backup of shop", one per running job.
  std::vector<std::string> running() const;
  // Stops dispatching queued jobs (running ones go on).
  void close();

 private:
  struct Pending {
    std::string target;
    std::string kind;
    std::function<void()> job;
  };
  struct Running {
    std::string target;
    std::string kind;
    std::thread thread;
    bool finished = false;
  };
  void dispatch();

  std::size_t m_max_concurrent;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<Pending> m_queue;
  std::list<Running> m_running;
  bool m_closed = false;
  std::thread m_dispatcher;
};

}  // namespace dbkeeper
