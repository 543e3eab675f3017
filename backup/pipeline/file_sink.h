#pragma once
// The last stage: writes to a new file and fsyncs it on finish(). A short
// write or ENOSPC throws with the file's name.

#include <filesystem>
#include <vector>

#include "backup/pipeline/byte_sink.h"
#include "core/unique_fd.h"

namespace dbkeeper {

class FileSink final : public ByteSink {
 public:
  // Creates `path` exclusively with mode 0640.
  explicit FileSink(std::filesystem::path path);
  void write(std::span<const std::byte> data) override;
  void finish() override;
  std::size_t bytes() const { return m_bytes; }

 private:
  std::filesystem::path m_path;
  UniqueFd m_fd;
  std::size_t m_bytes = 0;
};

// Feeds `sink` from a file descriptor until EOF, in fixed-size chunks, and
// calls finish(). A stop request (core/stop_request.h) ends it with
// Error{process} within a quarter of a second, even if the fd is silent.
void pump(int fd, ByteSink& sink, const char* what);

// Feeds `sink` from a file, then finish()es it.
void pump_file(const std::filesystem::path& path, ByteSink& sink);

}  // namespace dbkeeper
