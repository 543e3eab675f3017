#include "core/file_tail.h"

#include <fstream>

namespace dbkeeper {

std::string file_tail(const std::filesystem::path& path, std::size_t bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  auto size = static_cast<std::size_t>(in.tellg());
  std::size_t length = std::min(size, bytes);
  // Only the end is read: a server's log may be large.
  in.seekg(static_cast<std::streamoff>(size - length));
  std::string text(length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(length));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

}  // namespace dbkeeper
