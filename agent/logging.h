#pragma once
// spdlog to stderr, which journald captures. "text" is for people, "json" is
// one object per line for log pipelines.

#include <string_view>

namespace dbkeeper {

// Throws Error{config} for an unknown level or format.
void configure_logging(std::string_view level, std::string_view format);

}  // namespace dbkeeper
