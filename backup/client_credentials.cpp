#include "backup/client_credentials.h"

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

}  // namespace dbkeeper
