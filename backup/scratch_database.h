#pragma once
// A uniquely named database that exists for one verification restore and
// is dropped when this object goes away: on success, on failure and on
// interruption. Its name is recorded in the target's repository directory
// before it is created, and the record removed after it is dropped; a
// SIGKILLed run leaves both behind, and the next verification of the same
// target drops exactly what such records name. A database that merely
// shares the prefix, or that another target's verification is using, is
// never touched.

#include <filesystem>
#include <string>

#include "backup/engine.h"

namespace dbkeeper {

inline constexpr const char* k_scratch_prefix = "dbkeeper_verify_";

// Drops the scratch databases that records in `records` name (left by
// killed verifications of the target; the caller holds the target's
// verification lock, so no live run owns them) and removes the records.
void drop_recorded_scratch_databases(const Engine& engine, const Target& target, const std::filesystem::path& records);

class ScratchDatabase {
 public:
  // Creates `dbkeeper_verify_<backup id>_<random>`.
  ScratchDatabase(const Engine& engine, const Target& target, const std::string& backup_id,
                  const DatabaseProperties& properties, std::filesystem::path records);
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& name() const { return m_name; }

 private:
  const Engine& m_engine;
  const Target& m_target;
  std::string m_name;
  std::filesystem::path m_record;
};

}  // namespace dbkeeper
