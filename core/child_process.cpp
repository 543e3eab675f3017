#include "core/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/error.h"

extern char** environ;

namespace dbkeeper {

std::string ExitStatus::describe() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exited with " + std::to_string(code);
}

struct ChildProcess::State {
  std::string program;
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd stdout_read;
  UniqueFd stdin_write;
  std::optional<ExitStatus> exit_status;

  mutable std::mutex stderr_mutex;
  std::string stderr_buffer;
  std::thread stderr_reader;

  void read_stderr(UniqueFd fd) {
    char buffer[4096];
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      std::lock_guard lock(stderr_mutex);
      stderr_buffer.append(buffer, static_cast<std::size_t>(n));
      // Keep the tail: a tool's last lines say why it failed.
      if (stderr_buffer.size() > k_stderr_capture_limit)
        stderr_buffer.erase(0, stderr_buffer.size() - k_stderr_capture_limit);
    }
  }

  void join_reader() {
    if (stderr_reader.joinable()) stderr_reader.join();
  }

  ExitStatus reap() {
    if (exit_status) return *exit_status;
    int status = 0;
    for (;;) {
      pid_t r = ::waitpid(pid, &status, 0);
      if (r == pid) break;
      if (r < 0 && errno == EINTR) continue;
      throw_system_error("unable to wait for " + program, errno);
    }
    ExitStatus result;
    if (WIFEXITED(status)) result.code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    exit_status = result;
    // Grandchildren that kept stderr open would block this join; the group
    // kill in the destructor covers the abnormal case.
    join_reader();
    return result;
  }
};

namespace {

class SpawnFileActions {
 public:
  SpawnFileActions() { posix_spawn_file_actions_init(&m_actions); }
  ~SpawnFileActions() { posix_spawn_file_actions_destroy(&m_actions); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &m_actions; }

 private:
  posix_spawn_file_actions_t m_actions;
};

class SpawnAttributes {
 public:
  SpawnAttributes() { posix_spawnattr_init(&m_attributes); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&m_attributes); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() { return &m_attributes; }

 private:
  posix_spawnattr_t m_attributes;
};

std::vector<std::string> build_environment(const ProcessSpec& spec) {
  std::vector<std::string> result;
  auto overridden = [&](std::string_view entry) {
    auto name = entry.substr(0, entry.find('='));
    for (const auto& [key, value] : spec.environment)
      if (key == name) return true;
    for (const auto& key : spec.unset_environment)
      if (key == name) return true;
    return false;
  };
  for (char** entry = environ; entry && *entry; ++entry)
    if (!overridden(*entry)) result.emplace_back(*entry);
  for (const auto& [key, value] : spec.environment) result.push_back(key + "=" + value);
  return result;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Sets up one of the child's standard streams; returns our end of a pipe if any.
UniqueFd plan_output(SpawnFileActions& actions, const ProcessOutput& output, int target_fd,
                     std::vector<UniqueFd>& child_ends) {
  switch (output.mode) {
    case ProcessOutput::Mode::inherit: return {};
    case ProcessOutput::Mode::null:
      posix_spawn_file_actions_addopen(actions.get(), target_fd, "/dev/null", O_WRONLY, 0);
      return {};
    case ProcessOutput::Mode::file: {
      UniqueFd fd(::open(output.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
      if (!fd) throw_system_error("unable to open '" + output.file.string() + "' for child output", errno);
      posix_spawn_file_actions_adddup2(actions.get(), fd.get(), target_fd);
      child_ends.push_back(std::move(fd));
      return {};
    }
    case ProcessOutput::Mode::pipe: {
      Pipe pipe = make_pipe();
      posix_spawn_file_actions_adddup2(actions.get(), pipe.write_end.get(), target_fd);
      child_ends.push_back(std::move(pipe.write_end));
      return std::move(pipe.read_end);
    }
  }
  return {};
}

}  // namespace

ChildProcess ChildProcess::start(const ProcessSpec& spec) {
  if (spec.argv.empty() || spec.argv.front().empty())
    throw Error(ErrorKind::internal, "cannot start a process without a program name");

  auto state = std::make_unique<State>();
  state->program = spec.argv.front();

  SpawnFileActions actions;
  std::vector<UniqueFd> child_ends;  // closed in the parent once spawned

  if (spec.stdin_pipe) {
    Pipe pipe = make_pipe();
    posix_spawn_file_actions_adddup2(actions.get(), pipe.read_end.get(), STDIN_FILENO);
    child_ends.push_back(std::move(pipe.read_end));
    state->stdin_write = std::move(pipe.write_end);
  } else {
    posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  state->stdout_read = plan_output(actions, spec.stdout_to, STDOUT_FILENO, child_ends);
  UniqueFd stderr_read = plan_output(actions, spec.stderr_to, STDERR_FILENO, child_ends);
  if (!spec.working_directory.empty())
    posix_spawn_file_actions_addchdir_np(actions.get(), spec.working_directory.c_str());

  SpawnAttributes attributes;
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t default_signals;
  sigfillset(&default_signals);
  sigdelset(&default_signals, SIGKILL);
  sigdelset(&default_signals, SIGSTOP);
  posix_spawnattr_setsigmask(attributes.get(), &empty_mask);
  posix_spawnattr_setsigdefault(attributes.get(), &default_signals);
  posix_spawnattr_setpgroup(attributes.get(), 0);
  posix_spawnattr_setflags(attributes.get(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> argv_strings = spec.argv;
  std::vector<std::string> env_strings = build_environment(spec);
  auto argv = pointers_to(argv_strings);
  auto envp = pointers_to(env_strings);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], actions.get(), attributes.get(), argv.data(), envp.data());
  if (rc != 0) throw Error(ErrorKind::process, "unable to start '" + state->program + "': " + std::strerror(rc));
  state->pid = pid;
  child_ends.clear();

  // glibc 2.36 declares pidfd_open without C linkage; call the syscall.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int saved = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw_system_error("unable to open pidfd for " + state->program, saved);
  }
  state->pidfd = UniqueFd(pidfd);

  if (stderr_read)
    state->stderr_reader =
        std::thread([s = state.get(), fd = std::move(stderr_read)]() mutable { s->read_stderr(std::move(fd)); });
  return ChildProcess(std::move(state));
}

ChildProcess::ChildProcess(std::unique_ptr<State> state) : m_state(std::move(state)) {}
ChildProcess::ChildProcess(ChildProcess&&) noexcept = default;

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    ChildProcess doomed(std::move(*this));
    m_state = std::move(other.m_state);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (!m_state) return;
  if (!m_state->exit_status) {
    ::kill(-m_state->pid, SIGKILL);
    ::kill(m_state->pid, SIGKILL);
    try {
      m_state->reap();
    } catch (...) {
      // Nothing sensible to do in a destructor; the pid is gone either way.
    }
  }
  m_state->join_reader();
}

pid_t ChildProcess::pid() const {
  return m_state->pid;
}
const std::string& ChildProcess::program() const {
  return m_state->program;
}
bool ChildProcess::running() const {
  return !m_state->exit_status.has_value();
}
int ChildProcess::stdout_fd() const {
  return m_state->stdout_read.get();
}
UniqueFd ChildProcess::take_stdin() {
  return std::move(m_state->stdin_write);
}

ExitStatus ChildProcess::wait() {
  m_state->stdin_write.reset();
  return m_state->reap();
}

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  if (m_state->exit_status) return m_state->exit_status;
  pollfd pfd{m_state->pidfd.get(), POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int rc = ::poll(&pfd, 1, static_cast<int>(std::max<long>(0, left.count())));
    if (rc > 0) return m_state->reap();
    if (rc == 0) return std::nullopt;
    if (errno != EINTR) throw_system_error("unable to poll " + m_state->program, errno);
  }
}

void ChildProcess::send_signal(int signal_number) {
  if (m_state->exit_status) return;
  // Signal the whole group so helpers the tool started stop too.
  if (::kill(-m_state->pid, signal_number) != 0) ::kill(m_state->pid, signal_number);
}

ExitStatus ChildProcess::terminate(std::chrono::milliseconds grace, int signal_number) {
  send_signal(signal_number);
  if (auto status = wait_for(grace)) return *status;
  send_signal(SIGKILL);
  return wait();
}

std::string ChildProcess::stderr_text() const {
  std::lock_guard lock(m_state->stderr_mutex);
  std::string text = m_state->stderr_buffer;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

std::optional<std::filesystem::path> find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return std::filesystem::path(name);
    return std::nullopt;
  }
  std::string directories = std::getenv("PATH") ? std::getenv("PATH") : "";
  directories += ":/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t start = 0;
  while (start <= directories.size()) {
    std::size_t colon = directories.find(':', start);
    std::string directory = directories.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!directory.empty()) {
      std::filesystem::path candidate = std::filesystem::path(directory) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return std::nullopt;
}

CompletedProcess run_process(ProcessSpec spec, std::chrono::milliseconds timeout) {
  spec.stdout_to = ProcessOutput::pipe();
  spec.stderr_to = ProcessOutput::pipe();
  ChildProcess child = ChildProcess::start(spec);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string output;
  char buffer[8192];
  pollfd pfd{child.stdout_fd(), POLLIN, 0};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      child.terminate(std::chrono::seconds(1), SIGKILL);
      throw Error(ErrorKind::timeout,
                  "'" + child.program() + "' did not finish within " + std::to_string(timeout.count()) + " ms");
    }
    int rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) throw_system_error("unable to poll output of " + child.program(), errno);
    if (rc == 0) continue;
    ssize_t n = ::read(pfd.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error("unable to read output of " + child.program(), errno);
    if (n == 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  auto status = child.wait_for(std::max(left, std::chrono::milliseconds(0)));
  if (!status) {
    child.terminate(std::chrono::seconds(1), SIGKILL);
    throw Error(ErrorKind::timeout,
                "'" + child.program() + "' did not exit within " + std::to_string(timeout.count()) + " ms");
  }
  return CompletedProcess{*status, std::move(output), child.stderr_text()};
}

}  // namespace dbkeeper
