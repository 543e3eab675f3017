#pragma once
// The end of a log file, for an error message that says why a server or a
// tool did not start.

#include <cstddef>
#include <filesystem>
#include <string>

namespace dbkeeper {

// The last `bytes` of `path` (all of it when shorter); empty when it cannot be read.
std::string file_tail(const std::filesystem::path& path, std::size_t bytes = 3000);

}  // namespace dbkeeper
