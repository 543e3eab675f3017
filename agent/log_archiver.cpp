#include "agent/log_archiver.h"

#include <spdlog/spdlog.h>

#include "agent/open_repository.h"
#include "agent/repository_copies.h"
#include "backup/backup_job.h"
#include "backup/log_archive_job.h"
#include "core/duration.h"
#include "core/stop_request.h"

namespace dbkeeper {

LogArchiver::LogArchiver(std::shared_ptr<const Config> config, std::shared_ptr<const Repository> repository)
    : m_config(std::move(config)), m_repository(std::move(repository)) {
  for (const auto& target : m_config->targets)
    if (target.schedule.continuous_log) m_threads.emplace_back([this, &target] { loop(target); });
}

LogArchiver::~LogArchiver() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  for (auto& thread : m_threads) thread.join();
}

void LogArchiver::loop(const Target& target) {
  const Repository& repository = *m_repository;
  bool failing = false;
  std::unique_lock lock(m_mutex);
  while (!m_stopping && !stop_requested()) {
    lock.unlock();
    try {
      run_log_archive(target, repository, compression_settings(target));
      copy_to_repositories(*m_config, target, repository);
      if (failing) spdlog::info("log archiving of target '{}' works again", target.name);
      failing = false;
    } catch (const std::exception& e) {
      if (stop_requested()) break;
      spdlog::error("log archiving of target '{}' failed (retrying in {}): {}", target.name,
                    format_duration(target.backup.log_archive_interval), e.what());
      failing = true;
    }
    lock.lock();
    m_wake.wait_for(lock, target.backup.log_archive_interval, [&] { return m_stopping || stop_requested(); });
  }
}

}  // namespace dbkeeper
