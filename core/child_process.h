#pragma once
// A child process started from an argv vector (posix_spawn, never a shell).
//
// The child gets its own process group, an empty signal mask and default
// signal dispositions, so a daemon that blocks signals for sigwait does not
// hand that mask on, and a terminal's Ctrl-C reaches only us: we decide how
// the child stops. The destructor kills (SIGKILL, whole group) and reaps a
// child that is still running, so no code path leaks a process.

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/unique_fd.h"

namespace dbkeeper {

struct ExitStatus {
  int code = -1;   // exit code when the child exited
  int signal = 0;  // signal number when it was killed by one

  bool success() const { return signal == 0 && code == 0; }
  // "exited with 2" or "killed by signal 9 (Killed)".
  std::string describe() const;
};

struct ProcessOutput {
  enum class Mode { null, inherit, pipe, file };
  Mode mode = Mode::null;
  std::filesystem::path file;  // for Mode::file; appended to, created 0600

  static ProcessOutput null() { return {Mode::null, {}}; }
  static ProcessOutput inherit() { return {Mode::inherit, {}}; }
  static ProcessOutput pipe() { return {Mode::pipe, {}}; }
  static ProcessOutput to_file(std::filesystem::path path) { return {Mode::file, std::move(path)}; }
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  // Variables added to (or replacing) the inherited environment. This is how a
  // secret such as PGPASSFILE reaches a tool: never through argv.
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<std::string> unset_environment;
  std::filesystem::path working_directory;  // empty: inherit ours
  bool stdin_pipe = false;                  // false: /dev/null
  ProcessOutput stdout_to = ProcessOutput::pipe();
  // Mode::pipe captures stderr in the background (the last
  // k_stderr_capture_limit bytes) so it can go into error messages.
  ProcessOutput stderr_to = ProcessOutput::pipe();
};

class ChildProcess {
 public:
  static constexpr std::size_t k_stderr_capture_limit = 64 * 1024;

  // Throws Error{process} naming the program when it cannot be started.
  static ChildProcess start(const ProcessSpec& spec);

  ChildProcess(ChildProcess&&) noexcept;
  ChildProcess& operator=(ChildProcess&&) noexcept;
  ~ChildProcess();

  pid_t pid() const;
  const std::string& program() const;
  bool running() const;

  // Read end of the child's stdout (-1 unless piped). Owned by this object.
  int stdout_fd() const;
  // Write end of the child's stdin; closing it sends EOF.
  UniqueFd take_stdin();

  ExitStatus wait();
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  void send_signal(int signal_number);
  // Sends `signal_number`, waits up to `grace`, then SIGKILLs the group.
  ExitStatus terminate(std::chrono::milliseconds grace, int signal_number = SIGTERM);

  // Captured stderr, trimmed of trailing whitespace. Complete once wait() returned.
  std::string stderr_text() const;

 private:
  struct State;
  explicit ChildProcess(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

struct CompletedProcess {
  ExitStatus status;
  std::string stdout_text;
  std::string stderr_text;
};

// The full path of `name` found in PATH (then /usr/sbin, /usr/bin), or nullopt.
std::optional<std::filesystem::path> find_executable(const std::string& name);

// Runs to completion, collecting stdout and stderr; kills the child and
// throws Error{timeout} if it runs longer than `timeout`.
CompletedProcess run_process(ProcessSpec spec, std::chrono::milliseconds timeout = std::chrono::minutes(5));

}  // namespace dbkeeper
