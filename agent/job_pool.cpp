#include "agent/job_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dbkeeper {

JobPool::JobPool(std::size_t max_concurrent) : m_max_concurrent(std::max<std::size_t>(1, max_concurrent)) {
  m_dispatcher = std::thread([this] { dispatch(); });
}

JobPool::~JobPool() {
  close();
  m_dispatcher.join();
  std::unique_lock lock(m_mutex);
  for (auto& running : m_running) {
    lock.unlock();
    if (running.thread.joinable()) running.thread.join();
    lock.lock();
  }
}

void JobPool::close() {
  std::lock_guard lock(m_mutex);
  m_closed = true;
  m_queue.clear();
  m_changed.notify_all();
}

bool JobPool::submit(const std::string& target, const std::string& kind, std::function<void()> job) {
  std::lock_guard lock(m_mutex);
  if (m_closed) return false;
  auto same = [&](const auto& item) { return item.target == target && item.kind == kind; };
  if (std::any_of(m_queue.begin(), m_queue.end(), same) ||
      std::any_of(m_running.begin(), m_running.end(), [&](const Running& r) { return !r.finished && same(r); })) {
    spdlog::warn("{} of target '{}' is still waiting or running; this run is skipped", kind, target);
    return false;
  }
  m_queue.push_back(Pending{target, kind, std::move(job)});
  m_changed.notify_all();
  return true;
}

std::vector<std::string> JobPool::running() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> names;
  for (const auto& r : m_running)
    if (!r.finished) names.push_back(r.kind + " of " + r.target);
  return names;
}

void JobPool::dispatch() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    // Reap finished threads.
    for (auto it = m_running.begin(); it != m_running.end();) {
      if (it->finished) {
        it->thread.join();
        it = m_running.erase(it);
      } else {
        ++it;
      }
    }
    if (m_closed) return;
    std::size_t active = m_running.size();
    auto next = m_queue.end();
    if (active < m_max_concurrent) {
      next = std::find_if(m_queue.begin(), m_queue.end(), [&](const Pending& p) {
        return std::none_of(m_running.begin(), m_running.end(), [&](const Running& r) { return r.target == p.target; });
      });
    }
    if (next == m_queue.end()) {
      m_changed.wait(lock);
      continue;
    }
    Pending pending = std::move(*next);
    m_queue.erase(next);
    auto& slot = m_running.emplace_back();
    slot.target = pending.target;
    slot.kind = pending.kind;
    slot.thread = std::thread([this, &slot, job = std::move(pending.job)] {
      // Nothing escapes a job thread: the job reports its own failures.
      try {
        job();
      } catch (const std::exception& e) {
        spdlog::error("{} of target '{}' failed: {}", slot.kind, slot.target, e.what());
      } catch (...) {
        spdlog::error("{} of target '{}' failed", slot.kind, slot.target);
      }
      std::lock_guard done(m_mutex);
      slot.finished = true;
      m_changed.notify_all();
    });
  }
}

}  // namespace dbkeeper
