#pragma once
// The repository of this process, opened once from the configuration and
// passed down: the local one, with the store of every target whose first
// repository is a [[repository]] (its backups are made there).

#include "agent/config.h"
#include "backup/repository.h"

namespace dbkeeper {

// Opens each store once, shared by the targets that make backups in it.
// Throws Error{config} when a driver cannot be opened.
Repository open_repository(const Config& config);

}  // namespace dbkeeper
