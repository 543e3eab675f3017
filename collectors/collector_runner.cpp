#include "collectors/collector_runner.h"

#include "backup/repository.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

#include "collectors/metric_family_builder.h"
#include "core/error.h"

namespace dbkeeper {

struct CollectorRunner::Instance {
  const CollectorDefinition* definition = nullptr;
  const Target* target = nullptr;
  CollectorSettings settings;
  std::unique_ptr<Collector> collector;

  std::atomic<bool> success{false};
  std::atomic<double> duration_seconds{0};
  std::mutex refresh_mutex;  // one refresh at a time per instance
  std::string last_error;    // guarded by refresh_mutex; logs only on change

  std::mutex wake_mutex;
  std::condition_variable_any wake;
  std::jthread thread;

  std::vector<prometheus::ClientMetric::Label> labels() const {
    std::vector<prometheus::ClientMetric::Label> result{{"collector", std::string(definition->name)}};
    if (target) result.push_back({"target", target->name});
    return result;
  }

  std::string describe() const {
    return "collector '" + std::string(definition->name) + "'" + (target ? " for target '" + target->name + "'" : "");
  }
};

CollectorRunner::CollectorRunner(const std::vector<Target>& targets, const CollectorPlan& plan) {
  // A plan without a repository (tests, an agent that keeps none) reads an empty one.
  auto repository = plan.repository ? plan.repository : std::make_shared<const Repository>(std::filesystem::path());
  for (const auto& definition : collector_definitions()) {
    auto configured = plan.settings.find(definition.name);
    CollectorSettings settings = configured != plan.settings.end() ? configured->second : default_settings(definition);
    if (!settings.enabled) continue;
    auto add = [&](const Target* target) {
      auto instance = std::make_unique<Instance>();
      instance->definition = &definition;
      instance->target = target;
      instance->settings = settings;
      instance->collector = definition.create(CollectorContext{target, repository, plan.status, settings, plan.build});
      // A collector for another engine declines by returning nothing.
      if (instance->collector) m_instances.push_back(std::move(instance));
    };
    if (definition.scope == CollectorScope::agent) {
      add(nullptr);
    } else {
      for (const auto& target : targets) add(&target);
    }
  }
}

CollectorRunner::~CollectorRunner() {
  stop();
}

void CollectorRunner::refresh(Instance& instance) {
  std::lock_guard lock(instance.refresh_mutex);
  auto started = std::chrono::steady_clock::now();
  std::string error;
  try {
    instance.collector->refresh();
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  } catch (...) {
    error = "unknown non-standard exception";
  }
  instance.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  instance.success = error.empty();
  if (error != instance.last_error) {
    if (!error.empty())
      spdlog::warn("{} failed: {}", instance.describe(), error);
    else
      spdlog::info("{} succeeded again", instance.describe());
    instance.last_error = error;
  }
}

void CollectorRunner::refresh_all() {
  for (auto& instance : m_instances) refresh(*instance);
}

void CollectorRunner::start() {
  for (auto& instance : m_instances) {
    Instance* raw = instance.get();
    {
      std::lock_guard lock(m_running_mutex);
      ++m_running;
    }
    raw->thread = std::jthread([this, raw](std::stop_token stop) {
      while (!stop.stop_requested()) {
        refresh(*raw);
        std::unique_lock lock(raw->wake_mutex);
        raw->wake.wait_for(lock, stop, raw->settings.interval, [] { return false; });
      }
      std::lock_guard lock(m_running_mutex);
      --m_running;
      m_running_changed.notify_all();
    });
  }
}

void CollectorRunner::request_stop() {
  for (auto& instance : m_instances) instance->thread.request_stop();
}

bool CollectorRunner::stop(std::chrono::milliseconds grace) {
  request_stop();
  {
    std::unique_lock lock(m_running_mutex);
    if (!m_running_changed.wait_for(lock, grace, [&] { return m_running == 0; })) return false;
  }
  for (auto& instance : m_instances)
    if (instance->thread.joinable()) instance->thread.join();
  return true;
}

std::vector<prometheus::MetricFamily> CollectorRunner::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  auto success = make_family("collector_success", "1 if the collector's last refresh succeeded, 0 if it failed.",
                             prometheus::MetricType::Gauge);
  auto duration = make_family("collector_duration_seconds", "How long the collector's last refresh took.",
                              prometheus::MetricType::Gauge);
  for (const auto& instance : m_instances) {
    merge_families(families, instance->collector->collect());
    add_gauge(success, instance->labels(), instance->success ? 1 : 0);
    add_gauge(duration, instance->labels(), instance->duration_seconds);
  }
  families.push_back(std::move(success));
  families.push_back(std::move(duration));
  return families;
}

}  // namespace dbkeeper
