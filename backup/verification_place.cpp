#include "backup/verification_place.h"

#include <spdlog/spdlog.h>

#include "core/error.h"

namespace dbkeeper {
namespace {

std::filesystem::path instance_parent(const Target& target) {
  return target.verify.instance_directory.empty() ? std::filesystem::temp_directory_path()
                                                  : std::filesystem::path(target.verify.instance_directory);
}

std::string on_the_server(const Target& target) {
  return target.engine == "postgres" ? "the server"
                                     : "the server, with the binary log off for its sessions (SET SESSION "
                                       "sql_log_bin = 0 needs BINLOG ADMIN)";
}

}  // namespace

VerificationPlace::VerificationPlace(const Engine& engine, const Target& target, const std::filesystem::path& records)
    : m_server(target), m_records(records) {
  m_server.unlogged_session = true;
  if (target.verify.into == "server") {
    m_description = on_the_server(target) + " ([target.verify] into = \"server\")";
    return;
  }
  try {
    m_recipe = engine.scratch_server(target);
  } catch (const Error& e) {
    if (target.verify.into == "instance" || e.kind() != ErrorKind::process)
      throw Error(e.kind(), std::string("no scratch instance for the verification restore: ") + e.what());
    m_description = on_the_server(target) + ": " + e.what();
    spdlog::warn("verification restore of target '{}' loads on {}", target.name, m_description);
    return;
  }
  m_instance = std::make_unique<ScratchInstance>(engine, *m_recipe, target, instance_parent(target), records);
  m_description = "a scratch instance (" + m_recipe->description() + ")";
}

std::filesystem::path VerificationPlace::records() const {
  return m_instance ? m_instance->directory() / "scratch-databases" : m_records;
}

CheckResult check_verification_place(const Engine& engine, const Target& target) {
  if (target.verify.into == "server")
    return {"scratch", true, "verification restores load on " + on_the_server(target) + " (into = \"server\")"};
  try {
    auto recipe = engine.scratch_server(target);
    auto parent = instance_parent(target);
    std::error_code error;
    if (!std::filesystem::is_directory(parent, error))
      return {"scratch", false,
              "[target.verify] instance_directory " + parent.string() + " is not a directory: create it"};
    return {
        "scratch", true,
        "verification restores load into a scratch instance (" + recipe->description() + ") under " + parent.string()};
  } catch (const Error& e) {
    if (target.verify.into == "instance")
      return {"scratch", false, std::string("[target.verify] into = \"instance\", but ") + e.what()};
    return {"scratch", true, "verification restores load on " + on_the_server(target) + ": " + e.what()};
  }
}

}  // namespace dbkeeper
