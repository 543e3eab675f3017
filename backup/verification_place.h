#pragma once
// Where a verification restore loads, by [target.verify] into: a scratch
// instance (backup/scratch_instance.h), so nothing reaches the production
// server, its binary log or its replicas; or, where this host has no server
// of the target's version (or the configuration says so), the server
// itself with its binary log off for dbkeeper's sessions (MariaDB/MySQL).

#include <filesystem>
#include <memory>
#include <string>

#include "backup/engine.h"
#include "backup/scratch_instance.h"

namespace dbkeeper {

class VerificationPlace {
 public:
  // Starts the scratch instance when there is to be one. With into =
  // "instance", a host that cannot run one is an Error{process} naming why;
  // with "auto" it is the server, and `description()` says why.
  VerificationPlace(const Engine& engine, const Target& target, const std::filesystem::path& records);

  // Where scratch databases are made and loaded.
  const Target& target() const { return m_instance ? m_instance->target() : m_server; }
  bool is_instance() const { return m_instance != nullptr; }
  // Where scratch databases' records go: inside the instance (gone with
  // it), otherwise the target's record directory.
  std::filesystem::path records() const;
  // "a scratch instance (mariadbd 10.11.6)" or "the server (...)".
  const std::string& description() const { return m_description; }

 private:
  Target m_server;
  std::filesystem::path m_records;
  std::unique_ptr<ScratchServerRecipe> m_recipe;
  std::unique_ptr<ScratchInstance> m_instance;
  std::string m_description;
};

// What `check` says of it: the recipe a verification would use, or why it
// would restore on the server (nothing is started).
CheckResult check_verification_place(const Engine& engine, const Target& target);

}  // namespace dbkeeper
