#pragma once
// The one interface behind which each database engine lives. Callers pick an
// engine by name from the table in engine_registry.cpp and never name a
// concrete engine themselves.

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "backup/target.h"

namespace dbkeeper {

struct ServerIdentity {
  std::string product;  // "MariaDB", "MySQL", "PostgreSQL"
  std::string version;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Connects with the target's timeout, runs a trivial statement and returns
  // what answered. Throws Error{connection} (or {query}) with the server's message.
  virtual ServerIdentity probe(const Target& target) const = 0;
};

struct EngineDefinition {
  std::string_view name;
  std::string_view description;
  unsigned default_port;
  std::unique_ptr<Engine> (*create)();
};

std::span<const EngineDefinition> engine_definitions();
// nullptr when no engine has that name.
const EngineDefinition* find_engine(std::string_view name);
// Throws Error{config} naming the known engines.
std::unique_ptr<Engine> create_engine(std::string_view name);

}  // namespace dbkeeper
