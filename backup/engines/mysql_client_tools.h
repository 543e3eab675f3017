#pragma once
// How dbkeeper starts the MySQL/MariaDB command-line tools (mariadb-dump,
// mariadb, mariadb-binlog): which binary, and the connection arguments with
// the password in a private option file, never in argv.

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "backup/target.h"
#include "core/private_file.h"

namespace dbkeeper {

// The first of `names` found in PATH; throws Error{process} naming them.
std::string first_available_tool(std::initializer_list<const char*> names);

// An option file holding the target's password, or nullopt without one.
std::optional<PrivateFile> mysql_credentials_file(const Target& target, const std::filesystem::path& directory);

// program, --defaults-extra-file (which must come first), socket or host
// and port, user.
std::vector<std::string> mysql_client_arguments(const std::string& program, const Target& target,
                                                const std::optional<PrivateFile>& credentials);

}  // namespace dbkeeper
