#include "backup/scratch_database.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <random>

#include <unistd.h>

#include "core/atomic_file.h"

namespace dbkeeper {

void drop_recorded_scratch_databases(const Engine& engine, const Target& target, const std::filesystem::path& records) {
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator(records, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    // The record's file name is the database's name; only names dbkeeper
    // makes are acted on, whatever else the directory holds.
    std::string name = it->path().filename().string();
    if (!name.starts_with(k_scratch_prefix) ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      continue;
    spdlog::warn("dropping scratch database '{}' left by an interrupted verification of target '{}'", name,
                 target.name);
    engine.drop_database(target, name);
    std::filesystem::remove(it->path());
  }
}

ScratchDatabase::ScratchDatabase(const Engine& engine, const Target& target, const std::string& backup_id,
                                 const DatabaseProperties& properties, std::filesystem::path records)
    : m_engine(engine), m_target(target) {
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", random() & 0xffffff);
  m_name = k_scratch_prefix;
  for (char c : backup_id) m_name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  m_name += "_";
  m_name += suffix;
  std::filesystem::create_directories(records);
  m_record = records / m_name;
  write_file_atomically(
      m_record,
      "scratch database of a verification of target '" + target.name + "' by pid " + std::to_string(::getpid()) + "\n",
      0600);
  try {
    m_engine.create_database(m_target, m_name, properties);
  } catch (...) {
    std::filesystem::remove(m_record);
    throw;
  }
}

ScratchDatabase::~ScratchDatabase() {
  try {
    m_engine.drop_database(m_target, m_name);
    std::filesystem::remove(m_record);
  } catch (const std::exception& e) {
    spdlog::error("unable to drop scratch database '{}' of target '{}': {}; the next verification drops it", m_name,
                  m_target.name, e.what());
  }
}

}  // namespace dbkeeper
