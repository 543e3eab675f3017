#pragma once
// The posix driver: objects are files under a directory. A new object is
// written to a temporary file beside its final name, fsynced, and renamed
// into place (then the directory fsynced), so it appears whole or not at
// all, also across a power cut.

#include <memory>

#include "backup/storage/storage.h"

namespace dbkeeper {

std::unique_ptr<Storage> open_posix_storage(const StorageSettings& settings);

}  // namespace dbkeeper
