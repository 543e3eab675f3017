#pragma once
// A uniquely named database that exists for one verification restore and
// is dropped when this object goes away: on success, on failure and on
// interruption. A SIGKILLed run leaves it behind; the next verification of
// the target drops every database with the scratch prefix.

#include <string>

#include "backup/engine.h"

namespace dbkeeper {

inline constexpr const char* k_scratch_prefix = "dbkeeper_verify_";

class ScratchDatabase {
 public:
  // Creates `dbkeeper_verify_<backup id>_<random>`.
  ScratchDatabase(const Engine& engine, const Target& target, const std::string& backup_id,
                  const DatabaseProperties& properties);
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& name() const { return m_name; }

 private:
  const Engine& m_engine;
  const Target& m_target;
  std::string m_name;
};

}  // namespace dbkeeper
