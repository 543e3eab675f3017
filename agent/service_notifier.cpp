#include "agent/service_notifier.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstring>

namespace dbkeeper {

ServiceNotifier::ServiceNotifier() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) m_watchdog_interval = std::chrono::microseconds(usec / 2);
}

void ServiceNotifier::send(const std::string& message) {
  int rc = sd_notify(0, message.c_str());
  if (rc < 0) spdlog::debug("sd_notify({}) failed: {}", message, std::strerror(-rc));
}

void ServiceNotifier::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
}
void ServiceNotifier::status(const std::string& status) {
  send("STATUS=" + status);
}

void ServiceNotifier::reloading() {
  // MONOTONIC_USEC lets newer systemd (Type=notify-reload) match the reload.
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  auto usec = static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading the configuration");
}

void ServiceNotifier::stopping() {
  send("STOPPING=1\nSTATUS=stopping");
}

void ServiceNotifier::watchdog_tick() {
  if (!m_watchdog_interval) return;
  auto now = std::chrono::steady_clock::now();
  if (now - m_last_watchdog < *m_watchdog_interval) return;
  m_last_watchdog = now;
  send("WATCHDOG=1");
}

}  // namespace dbkeeper
