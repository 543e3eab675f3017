#pragma once
// The one error type of the project. Its kind is a small fixed set because it
// becomes the `reason` label of failure counters; the message carries context
// (what failed, on what, and why) and never a secret.

#include <stdexcept>
#include <string>
#include <string_view>

namespace dbkeeper {

enum class ErrorKind {
  config,      // configuration is invalid
  connection,  // a database could not be reached or refused us
  query,       // a statement failed on the server
  process,     // a child process failed to start or exited badly
  io,          // a file or socket operation failed
  timeout,     // something took longer than allowed
  integrity,   // a checksum or a comparison did not match
  internal,    // a bug: should never happen
};

// Stable lowercase name, used as a metric label value.
std::string_view to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);

  ErrorKind kind() const { return m_kind; }

 private:
  ErrorKind m_kind;
};

// Throws Error{io} with "<what>: <strerror(errno)>".
[[noreturn]] void throw_system_error(const std::string& what, int error_number);

}  // namespace dbkeeper
