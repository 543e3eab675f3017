#pragma once
// Continuous log archiving: for each target with log = "continuous", a
// thread that runs one archive pass (backup/log_archive_job.h) at once and
// then every `log_archive_interval`. It runs beside the job pool, not in
// it, so a long full backup never holds up the archive; the pass and a full
// backup take different locks. A failed pass is logged and counted, and the
// next interval is the retry.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/config.h"
#include "backup/repository.h"

namespace dbkeeper {

class LogArchiver {
 public:
  LogArchiver(std::shared_ptr<const Config> config, std::shared_ptr<const Repository> repository);
  ~LogArchiver();  // waits for a pass in progress to end
  LogArchiver(const LogArchiver&) = delete;
  LogArchiver& operator=(const LogArchiver&) = delete;

 private:
  void loop(const Target& target);

  std::shared_ptr<const Config> m_config;
  std::shared_ptr<const Repository> m_repository;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
};

}  // namespace dbkeeper
