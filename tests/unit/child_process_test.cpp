#include "core/child_process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;

TEST(run_process, collects_stdout_and_the_exit_code) {
  auto result = run_process(ProcessSpec{.argv = {"printf", "%s|%s", "a b", "$(touch /tmp/pwned)"}});
  EXPECT_TRUE(result.status.success());
  // Arguments reach the program verbatim: no shell ever sees them.
  EXPECT_EQ(result.stdout_text, "a b|$(touch /tmp/pwned)");
}

TEST(run_process, reports_a_non_zero_exit_with_stderr) {
  auto result = run_process(ProcessSpec{.argv = {"sh", "-c", "echo 'Got error 1045: Access denied' >&2; exit 2"}});
  EXPECT_FALSE(result.status.success());
  EXPECT_EQ(result.status.code, 2);
  EXPECT_EQ(result.status.describe(), "exited with 2");
  EXPECT_EQ(result.stderr_text, "Got error 1045: Access denied");
}

TEST(run_process, reports_death_by_signal) {
  auto result = run_process(ProcessSpec{.argv = {"sh", "-c", "kill -KILL $$"}});
  EXPECT_EQ(result.status.signal, SIGKILL);
  EXPECT_NE(result.status.describe().find("killed by signal 9"), std::string::npos);
}

TEST(run_process, passes_environment_variables_without_argv) {
  auto result = run_process(ProcessSpec{.argv = {"sh", "-c", "printf %s \"$SECRET_FOR_CHILD\""},
                                        .environment = {{"SECRET_FOR_CHILD", "s3cret"}}});
  EXPECT_EQ(result.stdout_text, "s3cret");
}

TEST(run_process, unsets_environment_variables) {
  ::setenv("DBKEEPER_TEST_UNSET_ME", "1", 1);
  auto result = run_process(ProcessSpec{.argv = {"sh", "-c", "printf %s \"${DBKEEPER_TEST_UNSET_ME-unset}\""},
                                        .unset_environment = {"DBKEEPER_TEST_UNSET_ME"}});
  EXPECT_EQ(result.stdout_text, "unset");
}

TEST(run_process, runs_in_the_given_directory) {
  TempDir dir;
  auto result = run_process(ProcessSpec{.argv = {"pwd"}, .working_directory = dir.path()});
  EXPECT_EQ(result.stdout_text, dir.path().string() + "\n");
}

TEST(run_process, kills_a_child_that_runs_too_long) {
  auto started = std::chrono::steady_clock::now();
  try {
    run_process(ProcessSpec{.argv = {"sleep", "30"}}, 300ms);
    FAIL() << "no timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::timeout);
    EXPECT_NE(std::string(e.what()).find("'sleep' did not finish within 300 ms"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(ChildProcess, names_a_program_that_does_not_exist) {
  try {
    ChildProcess::start(ProcessSpec{.argv = {"dbkeeper-no-such-tool"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::process);
    EXPECT_EQ(std::string(e.what()), "unable to start 'dbkeeper-no-such-tool': No such file or directory");
  }
}

TEST(ChildProcess, streams_stdin_to_stdout) {
  auto child = ChildProcess::start(ProcessSpec{.argv = {"cat"}, .stdin_pipe = true});
  UniqueFd input = child.take_stdin();
  write_all(input.get(), "hello\n", 6, "stdin");
  input.reset();
  char buffer[16] = {};
  ssize_t n = ::read(child.stdout_fd(), buffer, sizeof buffer);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)), "hello\n");
  EXPECT_TRUE(child.wait().success());
}

TEST(ChildProcess, keeps_only_the_tail_of_a_huge_stderr) {
  auto child = ChildProcess::start(
      ProcessSpec{.argv = {"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x >&2; echo THE-END >&2"},
                  .stdout_to = ProcessOutput::null()});
  EXPECT_TRUE(child.wait().success());
  auto text = child.stderr_text();
  EXPECT_LE(text.size(), ChildProcess::k_stderr_capture_limit);
  EXPECT_TRUE(text.ends_with("THE-END")) << text.substr(text.size() - 20);
}

TEST(ChildProcess, terminate_escalates_to_sigkill) {
  auto child = ChildProcess::start(ProcessSpec{.argv = {"sh", "-c", "trap '' TERM; sleep 30 & wait"}});
  std::this_thread::sleep_for(200ms);
  auto status = child.terminate(300ms, SIGTERM);
  EXPECT_EQ(status.signal, SIGKILL);
}

TEST(ChildProcess, destructor_kills_and_reaps_the_process_group) {
  TempDir dir;
  auto pid_file = dir.path() / "grandchild.pid";
  pid_t pid = -1;
  pid_t grandchild = -1;
  {
    auto child =
        ChildProcess::start(ProcessSpec{.argv = {"sh", "-c", "sleep 60 & echo $! > '" + pid_file.string() + "'; wait"},
                                        .stdout_to = ProcessOutput::null()});
    pid = child.pid();
    for (int i = 0; i < 100 && !std::filesystem::exists(pid_file); ++i) std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(50ms);
    std::ifstream(pid_file) >> grandchild;
  }
  EXPECT_NE(::kill(pid, 0), 0) << "child still exists";
  ASSERT_GT(grandchild, 0);
  // The grandchild was reparented; give init a moment to reap it.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string content;
    std::getline(stat, content);
    gone = !stat || content.find(") Z ") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived";
}

TEST(ChildProcess, child_does_not_inherit_a_blocked_signal_mask) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  auto child = ChildProcess::start(ProcessSpec{.argv = {"sleep", "30"}});
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  auto status = child.terminate(5s, SIGTERM);
  EXPECT_EQ(status.signal, SIGTERM);
}

}  // namespace
}  // namespace dbkeeper
