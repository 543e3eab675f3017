// libFuzzer: an archived binlog's record (<binlog>.json).
#include <cstddef>
#include <cstdint>
#include <string>

#include "backup/log_archive.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    dbkeeper::log_segment_from_json(std::string(reinterpret_cast<const char*>(data), size), "a fuzzed record");
  } catch (const dbkeeper::Error&) {
  }
  return 0;
}
