#include "backup/readiness_check.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "backup/verification_place.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

std::string human(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

// The nearest existing directory at or above `path`.
std::filesystem::path existing_ancestor(std::filesystem::path path) {
  std::error_code error;
  while (!path.empty() && !std::filesystem::exists(path, error) && path != path.root_path()) path = path.parent_path();
  return path;
}

CheckResult check_writable(const Target& target, const Repository& repository) {
  auto directory = repository.target_directory(target.name);
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error)
    return {"repository", false,
            "cannot create " + directory.string() + ": " + error.message() + " (create it, owned by the user the " +
                "agent runs as)"};
  auto probe = directory / (".check-" + std::to_string(::getpid()));
  {
    std::ofstream out(probe);
    out << "dbkeeper check\n";
    out.close();
    if (!out) return {"repository", false, "cannot write in " + directory.string() + " as this user"};
  }
  std::filesystem::remove(probe, error);
  // Run as root, check also that the service's own user could write there.
  if (::geteuid() == 0) {
    if (const passwd* account = ::getpwnam("dbkeeper")) {
      struct stat info {};
      if (::stat(directory.c_str(), &info) == 0 && info.st_uid != account->pw_uid &&
          !(info.st_gid == account->pw_gid && (info.st_mode & S_IWGRP)) && !(info.st_mode & S_IWOTH))
        return {"repository", false,
                directory.string() +
                    " is not writable by the 'dbkeeper' user the service runs as: chown -R "
                    "dbkeeper:dbkeeper " +
                    repository.root().string()};
    }
  }
  return {"repository", true, directory.string() + " is writable"};
}

CheckResult check_space(const Target& target, const Repository& repository) {
  std::error_code error;
  auto space = std::filesystem::space(existing_ancestor(repository.target_directory(target.name)), error);
  if (error)
    return {"space", false, "cannot read the free space of " + repository.root().string() + ": " + error.message()};
  std::uint64_t needed = 0;
  for (const auto& backup : repository.list(target.name))
    if (backup.manifest.type == "full") needed = backup.manifest.stored_bytes();
  if (needed == 0) return {"space", true, human(space.available) + " free (no full backup to size the next one by)"};
  // The next full backup is about as large as the last one; leave room to grow.
  std::uint64_t wanted = needed + needed / 4;
  if (space.available < wanted)
    return {"space", false,
            human(space.available) + " free, but the last full backup took " + human(needed) +
                ": free space or lower [target.retention] full_count"};
  return {"space", true, human(space.available) + " free, the last full backup took " + human(needed)};
}

CheckResult check_encryption(const Target& target) {
  // The configuration loader read the key file (mode, size) already: a
  // target with an unreadable key never gets here.
  if (!target.backup.encryption_key) return {"encryption", true, "off"};
  return {"encryption", true,
          "key loaded" +
              (target.backup.previous_encryption_keys.empty()
                   ? std::string()
                   : ", and " + std::to_string(target.backup.previous_encryption_keys.size()) + " previous key(s)")};
}

}  // namespace

std::vector<CheckResult> check_repository(const Target& target, const Repository& repository) {
  std::vector<CheckResult> results{check_writable(target, repository)};
  results.push_back(check_space(target, repository));
  results.push_back(check_encryption(target));
  return results;
}

std::vector<CheckResult> check_target(const Target& target, const Repository& repository) {
  std::vector<CheckResult> results;
  try {
    auto engine = create_engine(target.engine);
    results = engine->check_server(target);
    bool reachable = !results.empty() && results.front().ok;
    if (reachable && !target.schedule.verify.empty()) results.push_back(check_verification_place(*engine, target));
  } catch (const std::exception& e) {
    results.push_back({"server", false, e.what()});
  }
  for (auto& result : check_repository(target, repository)) results.push_back(std::move(result));
  return results;
}

CheckResult check_copy_repository(const Target& target, const std::string& name, Storage& storage) {
  std::string check = "repository-" + name;
  std::string key = target.name + "/.dbkeeper-check-" + std::to_string(::getpid());
  std::string probe = "dbkeeper check of target " + target.name + "\n";
  try {
    write_object(storage, key, probe);
    bool same = read_object(storage, key) == probe;
    storage.remove({key});
    if (!same) return {check, false, storage.describe() + " returned other bytes than were written"};
    return {check, true, storage.describe() + " takes, returns and deletes objects"};
  } catch (const std::exception& e) {
    return {check, false, e.what()};
  }
}

}  // namespace dbkeeper
