#include "backup/client_credentials.h"
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>

namespace dbkeeper {

std::string mysql_option_file_text(const Secret& password) {
  // Inside double quotes the option parser understands \\ and \" (and \n,
  // \t, ... which a password read from a file without newlines cannot hold).
  std::string escaped;
  for (char c : password.reveal()) {
    if (c == '\\' || c == '"') escaped += '\\';
    escaped += c;
  }
  return "[client]\npassword=\"" + escaped + "\"\n";
}

std::string pgpass_text(const Secret& password) {
  std::string escaped;
  for (char c : password.reveal()) {
    if (c == '\\' || c == ':') escaped += '\\';
    escaped += c;
  }
  return "*:*:*:*:" + escaped + "\n";
}

PrivateFile write_mysql_option_file(const std::filesystem::path& directory, const Secret& password) {
  return PrivateFile(directory / "client.cnf", mysql_option_file_text(password));
}

PrivateFile write_pgpass_file(const std::filesystem::path& directory, const Secret& password) {
  return PrivateFile(directory / "pgpass", pgpass_text(password));
}

std::size_t remove_stale_credentials(const std::filesystem::path& parent) {
  constexpr std::string_view prefix = "dbkeeper-credentials-";
  std::size_t removed = 0;
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator(parent, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(prefix) || !it->is_directory()) continue;
    // Only directories of ours that name their process, and only when that
    // process is gone (and it was ours: another user's are not ours to touch).
    char* end = nullptr;
    long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || end == nullptr || *end != '-') continue;
    struct stat info {};
    if (::stat(it->path().c_str(), &info) != 0 || info.st_uid != ::geteuid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code remove_error;
    std::filesystem::remove_all(it->path(), remove_error);
    if (!remove_error) ++removed;
  }
  return removed;
}

TempDir credentials_directory(const std::filesystem::path& parent) {
  remove_stale_credentials(parent);
  return TempDir(parent, "dbkeeper-credentials-" + std::to_string(::getpid()) + "-");
}

}  // namespace dbkeeper
