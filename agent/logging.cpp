#include "agent/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "backup/manifest.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

// One JSON object per line; nlohmann escapes the message, which may hold
// quotes or newlines from a server's error text.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& destination) override {
    nlohmann::json line{
        {"time", format_utc(message.time)},
        {"level", std::string(spdlog::level::to_string_view(message.level).data(),
                              spdlog::level::to_string_view(message.level).size())},
        {"message", std::string(message.payload.data(), message.payload.size())},
    };
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    destination.append(text.data(), text.data() + text.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLineFormatter>(); }
};

}  // namespace

void configure_logging(std::string_view level, std::string_view format) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off")
    throw Error(ErrorKind::config, "unknown log level '" + std::string(level) +
                                       "' (expected trace, debug, info, warn, error, critical or off)");
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (format == "json") {
    sink->set_formatter(std::make_unique<JsonLineFormatter>());
  } else if (format == "text") {
    sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e%z %l %v"));
  } else {
    throw Error(ErrorKind::config, "unknown log format '" + std::string(format) + "' (expected text or json)");
  }
  auto logger = std::make_shared<spdlog::logger>("dbkeeper", sink);
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace dbkeeper
