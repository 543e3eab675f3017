#pragma once
// A process-wide "please stop" flag, raised by SIGINT/SIGTERM in the CLI
// commands, so long operations end through their normal error paths and
// every RAII owner (temp directories, scratch databases, child processes)
// cleans up, instead of the process dying mid-way.

#include <memory>

namespace dbkeeper {

bool stop_requested();
void request_stop();
void clear_stop_request();  // for tests

// While alive, SIGINT, SIGTERM and SIGHUP are blocked in every thread and a
// watcher thread turns them into request_stop(). Create it first in main,
// before any other thread exists.
class StopSignalWatcher {
 public:
  StopSignalWatcher();
  ~StopSignalWatcher();
  StopSignalWatcher(const StopSignalWatcher&) = delete;
  StopSignalWatcher& operator=(const StopSignalWatcher&) = delete;
  // The signal that raised the request, or 0.
  static int received_signal();

 private:
  struct Thread;
  std::unique_ptr<Thread> m_thread;
};

}  // namespace dbkeeper
