#include "collectors/process_collector.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <vector>

#include "collectors/metric_family_builder.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

using prometheus::MetricType;

struct ProcessSample {
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double cpu_seconds = 0;
  double open_fds = 0;
  double max_fds = 0;
  double start_time_seconds = 0;
};

// Seconds since boot on the same clock as the process start time. The boot
// time in /proc/stat goes stale when the wall clock is stepped after boot, so
// the start time is derived from uptime and the current wall clock instead.
double uptime_seconds() {
  std::ifstream uptime("/proc/uptime");
  double value = 0;
  uptime >> value;
  return value;
}

ProcessSample sample_process() {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name, which may hold spaces and parentheses.
  auto close = stat.rfind(')');
  if (close == std::string::npos) throw Error(ErrorKind::io, "unable to parse /proc/self/stat");
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> values;
  for (std::string value; fields >> value;) values.push_back(value);
  // values[0] is field 3 (state); utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
  if (values.size() < 22) throw Error(ErrorKind::io, "unexpected /proc/self/stat layout");
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  ProcessSample sample;
  sample.cpu_seconds = (std::stod(values[11]) + std::stod(values[12])) / ticks;
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  sample.start_time_seconds = now - (uptime_seconds() - std::stod(values[19]) / ticks);
  sample.virtual_bytes = std::stod(values[20]);
  sample.resident_bytes = std::stod(values[21]) * page;
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
       it != std::filesystem::directory_iterator(); it.increment(error))
    sample.open_fds += 1;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) sample.max_fds = static_cast<double>(limit.rlim_cur);
  return sample;
}

prometheus::MetricFamily family(const char* name, const char* help, MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  if (type == MetricType::Counter)
    add_counter(f, {}, value);
  else
    add_gauge(f, {}, value);
  return f;
}

class ProcessCollector final : public Collector {
 public:
  void refresh() override {
    auto sample = sample_process();
    std::lock_guard lock(m_mutex);
    m_sample = sample;
  }

  std::vector<prometheus::MetricFamily> collect() const override {
    // Read fresh at scrape time too: these are cheap and must not lag.
    ProcessSample s;
    try {
      s = sample_process();
    } catch (const Error&) {
      std::lock_guard lock(m_mutex);
      s = m_sample;
    }
    return {
        family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", MetricType::Counter,
               s.cpu_seconds),
        family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge, s.resident_bytes),
        family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge, s.virtual_bytes),
        family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, s.open_fds),
        family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge, s.max_fds),
        family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
               MetricType::Gauge, s.start_time_seconds),
    };
  }

 private:
  mutable std::mutex m_mutex;
  ProcessSample m_sample;
};

}  // namespace

std::unique_ptr<Collector> make_process_collector(const CollectorContext&) {
  return std::make_unique<ProcessCollector>();
}

}  // namespace dbkeeper
