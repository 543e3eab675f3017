// libFuzzer: a target's state.json (attempt counters).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "backup/repository.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    dbkeeper::target_state_from_json(std::string(reinterpret_cast<const char*>(data), size), "fuzzed");
  } catch (const dbkeeper::Error&) {
  } catch (const nlohmann::json::exception&) {
    // read_state counts from zero on these, as on any unreadable state.
  }
  return 0;
}
