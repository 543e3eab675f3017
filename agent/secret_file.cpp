#include "agent/secret_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dbkeeper {
namespace {

std::string strip_line_end(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

}  // namespace

// A secret from a file only dbkeeper may read (password_file, encryption_key_file).
std::optional<Secret> read_secret_file(TomlTableReader& reader, std::string_view key, const std::string& file) {
  struct stat info {};
  if (::stat(file.c_str(), &info) != 0) {
    reader.problem(key, "cannot use '" + file + "': " + std::strerror(errno));
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode)) {
    reader.problem(key, "'" + file + "' is not a regular file");
    return std::nullopt;
  }
  if ((info.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    reader.problem(key,
                   "'" + file + "' is accessible by other users (mode " + mode + "); run: chmod 600 '" + file + "'");
    return std::nullopt;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    reader.problem(key, "cannot read '" + file + "': " + std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  std::string secret = strip_line_end(content.str());
  if (secret.empty()) {
    reader.problem(key, "'" + file + "' is empty");
    return std::nullopt;
  }
  return Secret(std::move(secret));
}

}  // namespace dbkeeper
