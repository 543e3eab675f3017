#pragma once
// How a password reaches the command-line tools (mariadb-dump, pg_dump, …):
// a 0600 file in a private directory, named to the tool by path or by
// environment, never on its command line where `ps` would show it.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/private_file.h"
#include "core/secret.h"
#include "core/temp_dir.h"

namespace dbkeeper {

// The text of a MySQL option file with a [client] group holding `password`,
// quoted and escaped the way the client library's option parser reads it.
std::string mysql_option_file_text(const Secret& password);

// One pgpass line matching any host, port, database and user.
std::string pgpass_text(const Secret& password);

// Writes a MySQL option file into `directory` (which should be private).
// Pass `--defaults-extra-file=<path>` as the tool's first argument.
PrivateFile write_mysql_option_file(const std::filesystem::path& directory, const Secret& password);

// Writes a pgpass file into `directory`; hand it over as PGPASSFILE.
PrivateFile write_pgpass_file(const std::filesystem::path& directory, const Secret& password);

// A private (0700) directory for credential files, named after this
// process (`dbkeeper-credentials-<pid>-XXXXXX` under `parent`) and removed
// with the object. Creating one first removes those whose process is gone:
// a SIGKILLed run cannot clean up after itself, so the next run does.
TempDir credentials_directory(const std::filesystem::path& parent = std::filesystem::temp_directory_path());

// The cleanup alone (at start); returns how many directories it removed.
std::size_t remove_stale_credentials(const std::filesystem::path& parent = std::filesystem::temp_directory_path());

}  // namespace dbkeeper
