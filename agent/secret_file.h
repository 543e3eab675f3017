#pragma once
// Secrets the configuration names by file (password_file,
// encryption_key_file, credentials_file): read only from a regular file
// that no other user may read, so a secret never sits in the config itself.

#include <optional>
#include <string>
#include <string_view>

#include "agent/toml_table_reader.h"
#include "core/secret.h"

namespace dbkeeper {

// The file's content without its final line end, or nullopt after
// recording the problem (missing, not regular, mode not 0600, empty) at `key`.
std::optional<Secret> read_secret_file(TomlTableReader& reader, std::string_view key, const std::string& file);

}  // namespace dbkeeper
