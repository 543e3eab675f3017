// libFuzzer: the TOML configuration, through the same loader as
// check-config (written to a file first, as it is read from one).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "agent/config.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/dbkeeper-config-fuzz-" + std::to_string(::getpid()) + ".toml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    dbkeeper::load_config(path);
  } catch (const dbkeeper::ConfigInvalid&) {
  } catch (const dbkeeper::Error&) {
  }
  return 0;
}
