#pragma once
// Crash-safe file replacement: write a temp file beside the target, fsync it,
// rename it over the target, fsync the directory. A reader sees the old
// content or the new, never a mix, even across a power cut.

#include <filesystem>
#include <string_view>

namespace dbkeeper {

void write_file_atomically(const std::filesystem::path& path, std::string_view content, int mode = 0644);

// fsyncs a directory so a rename or create inside it is durable.
void sync_directory(const std::filesystem::path& directory);

}  // namespace dbkeeper
