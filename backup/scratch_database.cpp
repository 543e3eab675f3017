#include "backup/scratch_database.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <random>

namespace dbkeeper {

ScratchDatabase::ScratchDatabase(const Engine& engine, const Target& target, const std::string& backup_id,
                                 const DatabaseProperties& properties)
    : m_engine(engine), m_target(target) {
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", random() & 0xffffff);
  m_name = k_scratch_prefix;
  for (char c : backup_id) m_name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  m_name += "_";
  m_name += suffix;
  m_engine.create_database(m_target, m_name, properties);
}

ScratchDatabase::~ScratchDatabase() {
  try {
    m_engine.drop_database(m_target, m_name);
  } catch (const std::exception& e) {
    spdlog::error("unable to drop scratch database '{}' of target '{}': {}; the next verification drops it", m_name,
                  m_target.name, e.what());
  }
}

}  // namespace dbkeeper
