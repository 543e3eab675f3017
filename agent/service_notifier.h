#pragma once
// Talks to systemd through the sd_notify protocol (libsystemd): READY=1 once
// /metrics listens, STATUS= with what runs, WATCHDOG=1 from the main loop,
// RELOADING=1 / READY=1 around a reload, STOPPING=1 on shutdown. Outside
// systemd (no NOTIFY_SOCKET) every call does nothing.

#include <chrono>
#include <optional>
#include <string>

namespace dbkeeper {

class ServiceNotifier {
 public:
  ServiceNotifier();

  void ready(const std::string& status);
  void status(const std::string& status);
  void reloading();
  void stopping();
  // Sends WATCHDOG=1 when half the watchdog interval has passed since the last one.
  void watchdog_tick();
  // Half of WATCHDOG_USEC, when systemd asked for keep-alives.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return m_watchdog_interval; }

 private:
  void send(const std::string& message);
  std::optional<std::chrono::microseconds> m_watchdog_interval;
  std::chrono::steady_clock::time_point m_last_watchdog;
};

}  // namespace dbkeeper
