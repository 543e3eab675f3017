#pragma once
// A throwaway database server that dbkeeper starts itself, so that a
// verification restore (and, later, a physical or point-in-time restore)
// loads into a server of its own instead of the production one: nothing it
// writes reaches the production binary log, its replicas, the log archive
// or the next incremental.
//
// The instance lives in its own temporary directory (data, a private unix
// socket, its log), runs without a binary log and with small memory
// settings, and is stopped and removed with this object. Its record in the
// target's repository directory names the directory and the server's pid;
// the server is started with a parent-death signal, so a SIGKILLed agent
// takes it down at once, and the next verification of the same target (or
// the next start of the agent) removes what the record names.
//
// What differs between engines (how to initialise, start and reach the
// server) is a ScratchServerRecipe, which each engine provides.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backup/target.h"
#include "core/child_process.h"
#include "core/temp_dir.h"

namespace dbkeeper {

class Engine;

// How an engine runs a throwaway server like the production one.
class ScratchServerRecipe {
 public:
  virtual ~ScratchServerRecipe() = default;
  // "mariadbd 10.11.6", for messages and `check`.
  virtual std::string description() const = 0;
  // The commands that create the data directory under `directory`, in
  // order (each run to completion, as the server's account).
  virtual std::vector<ProcessSpec> initialise(const std::filesystem::path& directory) const = 0;
  // The server in the foreground, its data and socket under `directory`.
  virtual ProcessSpec server(const std::filesystem::path& directory) const = 0;
  // Where its log goes (tail quoted when it does not come up).
  virtual std::filesystem::path log_file(const std::filesystem::path& directory) const = 0;
  // `production` with only how to connect changed: the instance's socket,
  // its administrative user and no password.
  virtual Target connection(const Target& production, const std::filesystem::path& directory) const = 0;
  // The OS account that must own `directory` and run the server when the
  // agent runs as root (empty: root may run it).
  virtual std::string account_when_root() const = 0;
};

class ScratchInstance {
 public:
  // Initialises and starts the server, waits until it answers (120 s).
  // `parent` holds the instance's directory; `records` is the target's
  // record directory (<target>/scratch). Throws Error{process} with the
  // server's log when it does not come up.
  ScratchInstance(const Engine& engine, const ScratchServerRecipe& recipe, const Target& production,
                  const std::filesystem::path& parent, const std::filesystem::path& records);
  ~ScratchInstance();
  ScratchInstance(const ScratchInstance&) = delete;
  ScratchInstance& operator=(const ScratchInstance&) = delete;

  // Connect here: the production target with the instance's connection.
  const Target& target() const { return m_target; }
  const std::filesystem::path& directory() const { return m_directory.path(); }
  pid_t pid() const { return m_server ? m_server->pid() : -1; }

 private:
  void stop() noexcept;

  TempDir m_directory;
  std::filesystem::path m_record;
  Target m_target;
  std::optional<ChildProcess> m_server;
};

// Removes what records of scratch instances in `records` name: the server
// process (when it still runs, and only when its command line names the
// recorded directory), then the directory. Only directories named like an
// instance's and owned by this user are touched. The caller holds the
// target's verification lock. Returns how many it removed.
std::size_t remove_recorded_scratch_instances(const std::filesystem::path& records);

}  // namespace dbkeeper
