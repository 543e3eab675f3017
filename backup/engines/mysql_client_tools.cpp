#include "backup/engines/mysql_client_tools.h"

#include "backup/client_credentials.h"
#include "core/child_process.h"
#include "core/error.h"

namespace dbkeeper {

std::string first_available_tool(std::initializer_list<const char*> names) {
  std::string tried;
  for (const char* name : names) {
    if (auto path = find_executable(name)) return path->string();
    tried += (tried.empty() ? "" : " or ") + std::string(name);
  }
  throw Error(ErrorKind::process, "none of " + tried + " is installed (install mariadb-client)");
}

std::optional<PrivateFile> mysql_credentials_file(const Target& target, const std::filesystem::path& directory) {
  if (target.password.empty() && !target.unlogged_session) return std::nullopt;
  std::string text = target.password.empty() ? std::string() : mysql_option_file_text(target.password);
  // Only the `mariadb` client reads [mysql] and knows init-command; it is
  // the one tool that writes (mariadb-binlog, which reads [client], only
  // decodes into it).
  if (target.unlogged_session) text += std::string("[mysql]\ninit-command=") + k_unlogged_session_statement + "\n";
  return PrivateFile(directory / "client.cnf", text);
}

std::vector<std::string> mysql_client_arguments(const std::string& program, const Target& target,
                                                const std::optional<PrivateFile>& credentials) {
  std::vector<std::string> argv{program};
  if (credentials) argv.push_back("--defaults-extra-file=" + credentials->path().string());
  if (!target.socket.empty()) {
    argv.push_back("--socket=" + target.socket);
  } else {
    argv.push_back("--protocol=TCP");
    argv.push_back("--host=" + target.host);
    argv.push_back("--port=" + std::to_string(target.port));
  }
  argv.push_back("--user=" + target.user);
  return argv;
}

}  // namespace dbkeeper
