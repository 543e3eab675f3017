#include "backup/scratch_instance.h"

#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "backup/engine.h"
#include "backup/untrusted_input.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_tail.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view k_directory_prefix = "dbkeeper-scratch-";
constexpr std::string_view k_record_prefix = "instance-";
constexpr const char* k_token_file = "dbkeeper-instance";
constexpr auto k_start_timeout = 120s;

std::string random_token() {
  std::random_device random;
  char text[33];
  std::snprintf(text, sizeof text, "%08x%08x%08x%08x", random(), random(), random(), random());
  return text;
}

const struct passwd* account_named(const std::string& name) {
  const struct passwd* account = ::getpwnam(name.c_str());
  if (account == nullptr)
    throw Error(ErrorKind::process, "the agent runs as root and there is no '" + name +
                                        "' account to run a scratch instance as; create it or set "
                                        "[target.verify] into = \"server\"");
  return account;
}

// Whether `account` may enter every directory above `path` (it owns `path`
// itself once handed over).
void require_reachable(const std::filesystem::path& path, const struct passwd* account) {
  int count = 64;
  std::vector<gid_t> groups(count);
  if (::getgrouplist(account->pw_name, account->pw_gid, groups.data(), &count) < 0) count = 0;
  groups.resize(std::max(count, 0));
  groups.push_back(account->pw_gid);
  for (auto ancestor = path.parent_path(); !ancestor.empty(); ancestor = ancestor.parent_path()) {
    struct stat info {};
    if (::stat(ancestor.c_str(), &info) != 0) throw_system_error("unable to read " + ancestor.string(), errno);
    bool enters = (info.st_mode & S_IXOTH) || (info.st_uid == account->pw_uid && (info.st_mode & S_IXUSR)) ||
                  ((info.st_mode & S_IXGRP) && std::find(groups.begin(), groups.end(), info.st_gid) != groups.end());
    if (!enters) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", info.st_mode & 07777);
      throw Error(ErrorKind::process, "the scratch instance runs as '" + std::string(account->pw_name) +
                                          "', which cannot enter " + ancestor.string() + " (mode " + mode +
                                          "): set [target.verify] instance_directory to a directory it can reach");
    }
    if (ancestor == ancestor.root_path()) break;
  }
}

void hand_over(const std::filesystem::path& path, const struct passwd* account) {
  require_reachable(path, account);
  if (::chown(path.c_str(), account->pw_uid, account->pw_gid) != 0)
    throw_system_error("unable to hand " + path.string() + " to '" + std::string(account->pw_name) + "'", errno);
}

// The server dies with the thread that started it (a SIGKILLed agent
// included), and runs as `account` when one is needed.
ProcessSpec supervised(ProcessSpec spec, const std::string& account) {
  auto setpriv = find_executable("setpriv");
  if (!setpriv) {
    if (!account.empty()) throw Error(ErrorKind::process, "setpriv is not installed (install util-linux)");
    return spec;
  }
  std::vector<std::string> argv{setpriv->string()};
  if (!account.empty()) {
    argv.push_back("--reuid=" + account);
    argv.push_back("--regid=" + account);
    argv.emplace_back("--init-groups");
  }
  // After the identity change: changing credentials clears the signal.
  for (const char* option : {"--pdeathsig", "KILL", "--"}) argv.emplace_back(option);
  argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
  spec.argv = std::move(argv);
  return spec;
}

bool process_names(pid_t pid, const std::string& needle) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string command_line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return !command_line.empty() && command_line.find(needle) != std::string::npos;
}

}  // namespace

ScratchInstance::ScratchInstance(const Engine& engine, const ScratchServerRecipe& recipe, const Target& production,
                                 const std::filesystem::path& parent, const std::filesystem::path& records)
    : m_directory(parent, std::string(k_directory_prefix) + std::to_string(::getpid()) + "-") {
  const auto& directory = m_directory.path();
  std::string account = ::geteuid() == 0 ? recipe.account_when_root() : std::string();
  if (!account.empty()) hand_over(directory, account_named(account));
  std::string token = random_token();
  write_file_atomically(directory / k_token_file, token + "\n", 0644);

  std::filesystem::create_directories(records);
  m_record = records / (std::string(k_record_prefix) + token + ".json");
  nlohmann::json record{{"directory", directory.string()}, {"token", token}, {"pid", 0}};
  write_file_atomically(m_record, record.dump() + "\n", 0600);
  try {
    spdlog::info("starting scratch instance ({}) for target '{}' in {}", recipe.description(), production.name,
                 directory.string());
    for (const auto& command : recipe.initialise(directory)) {
      auto result = run_process(supervised(command, account), std::chrono::minutes(5));
      if (!result.status.success())
        throw Error(ErrorKind::process, "preparing the scratch instance (" + recipe.description() +
                                            "): " + command.argv.front() + " " + result.status.describe() + ": " +
                                            result.stderr_text + "\n" + result.stdout_text);
    }
    m_server = ChildProcess::start(supervised(recipe.server(directory), account));
    record["pid"] = m_server->pid();
    write_file_atomically(m_record, record.dump() + "\n", 0600);
    m_target = recipe.connection(production, directory);

    auto deadline = std::chrono::steady_clock::now() + k_start_timeout;
    std::string last_error;
    while (true) {
      if (auto status = m_server->wait_for(0ms))
        throw Error(ErrorKind::process, "scratch instance (" + recipe.description() + ") " + status->describe() +
                                            " during start-up:\n" + file_tail(recipe.log_file(directory)));
      try {
        engine.probe(m_target);
        break;
      } catch (const Error& e) {
        last_error = e.what();
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw Error(ErrorKind::timeout, "scratch instance (" + recipe.description() +
                                            ") did not accept connections within 120 s: " + last_error + "\n" +
                                            file_tail(recipe.log_file(directory)));
      std::this_thread::sleep_for(50ms);
    }
  } catch (...) {
    stop();
    throw;
  }
}

ScratchInstance::~ScratchInstance() {
  stop();
}

void ScratchInstance::stop() noexcept {
  try {
    // Its data is thrown away: no clean shutdown to wait for.
    if (m_server) m_server->terminate(0ms, SIGKILL);
    m_server.reset();
    std::error_code ignored;
    std::filesystem::remove(m_record, ignored);
  } catch (const std::exception& e) {
    spdlog::error("unable to stop the scratch instance in {}: {}", m_directory.path().string(), e.what());
  }
}

std::size_t remove_recorded_scratch_instances(const std::filesystem::path& records) {
  std::size_t removed = 0;
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator(records, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(k_record_prefix) || !name.ends_with(".json")) continue;
    try {
      auto text = read_repository_file(it->path());
      if (!text) continue;
      auto record = parse_untrusted_json(*text, "scratch instance record " + name);
      std::filesystem::path directory = record.at("directory").get<std::string>();
      std::string token = record.at("token").get<std::string>();
      pid_t pid = record.at("pid").get<pid_t>();
      // The record is input: act only on a directory that is one of ours
      // and holds the token the record names.
      struct stat info {};
      bool ours = directory.is_absolute() && directory.lexically_normal() == directory &&
                  directory.filename().string().starts_with(k_directory_prefix) &&
                  ::lstat(directory.c_str(), &info) == 0 && S_ISDIR(info.st_mode) &&
                  (info.st_uid == ::geteuid() || ::geteuid() == 0);
      std::string found_token;
      if (ours) std::getline(std::ifstream(directory / k_token_file), found_token);
      if (ours && found_token == token) {
        if (pid > 0 && process_names(pid, directory.string())) {
          ::kill(pid, SIGKILL);
          // Not our child after a restart: wait until it is gone, not reaped.
          for (int i = 0; i < 100 && ::kill(pid, 0) == 0 && process_names(pid, directory.string()); ++i)
            std::this_thread::sleep_for(50ms);
        }
        spdlog::warn("removing scratch instance {} left by an interrupted verification", directory.string());
        std::filesystem::remove_all(directory);
        ++removed;
      }
      std::filesystem::remove(it->path());
    } catch (const std::exception& e) {
      // Written atomically, so never half-written: it names nothing usable.
      spdlog::warn("removing unreadable scratch instance record {}: {}", it->path().string(), e.what());
      std::error_code ignored;
      std::filesystem::remove(it->path(), ignored);
    }
  }
  return removed;
}

}  // namespace dbkeeper
