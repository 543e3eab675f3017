#include "core/error.h"

#include <cstring>

namespace dbkeeper {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::config: return "config";
    case ErrorKind::connection: return "connection";
    case ErrorKind::query: return "query";
    case ErrorKind::process: return "process";
    case ErrorKind::io: return "io";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::integrity: return "integrity";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

Error::Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), m_kind(kind) {}

void throw_system_error(const std::string& what, int error_number) {
  throw Error(ErrorKind::io, what + ": " + std::strerror(error_number));
}

}  // namespace dbkeeper
