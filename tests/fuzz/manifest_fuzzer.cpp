// libFuzzer: manifest.json as read from the repository. Anything may be
// refused (Error); nothing may crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backup/manifest.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    dbkeeper::manifest_from_json(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const dbkeeper::Error&) {
  }
  return 0;
}
