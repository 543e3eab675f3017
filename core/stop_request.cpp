#include "core/stop_request.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

namespace dbkeeper {
namespace {
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
}  // namespace

bool stop_requested() {
  return g_stop.load(std::memory_order_relaxed);
}
void request_stop() {
  g_stop = true;
}
void clear_stop_request() {
  g_stop = false;
  g_signal = 0;
}

struct StopSignalWatcher::Thread {
  std::thread thread;
};

StopSignalWatcher::StopSignalWatcher() : m_thread(std::make_unique<Thread>()) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR2);  // used to wake the watcher on destruction
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  m_thread->thread = std::thread([set] {
    for (;;) {
      int signal_number = 0;
      if (sigwait(&set, &signal_number) != 0) continue;
      if (signal_number == SIGUSR2) return;
      g_signal = signal_number;
      request_stop();
    }
  });
}

StopSignalWatcher::~StopSignalWatcher() {
  pthread_kill(m_thread->thread.native_handle(), SIGUSR2);
  m_thread->thread.join();
}

int StopSignalWatcher::received_signal() {
  return g_signal.load();
}

}  // namespace dbkeeper
