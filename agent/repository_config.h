#pragma once
// [[repository]]: repositories besides the local one, and which targets
// copy to them. Only this file and config.cpp know how they are spelled.

#include "agent/config.h"
#include "agent/toml_table_reader.h"

namespace dbkeeper {

void read_repositories(TomlTableReader& root, Config& config, ConfigProblems& problems);

// A target's `repositories` key: "local" first, then names of
// [[repository]] entries, each once. Fills `target.copies_to`.
void read_target_repositories(TomlTableReader& reader, const Config& config, Target& target);

}  // namespace dbkeeper
