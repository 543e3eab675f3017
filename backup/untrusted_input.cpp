#include "backup/untrusted_input.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace dbkeeper {

nlohmann::json parse_untrusted_json(const std::string& text, const std::string& what) {
  if (text.size() > k_max_repository_json_bytes)
    throw Error(ErrorKind::integrity, what + " is " + std::to_string(text.size()) + " bytes, more than any " +
                                          "dbkeeper writes; refused as damaged or tampered with");
  auto bounded = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > k_max_repository_json_depth)
      throw Error(ErrorKind::integrity, what + " is nested deeper than " + std::to_string(k_max_repository_json_depth) +
                                            " levels; refused as damaged or tampered with");
    return true;
  };
  try {
    return nlohmann::json::parse(text, bounded);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::integrity, what + " is not valid JSON: " + e.what());
  }
}

std::optional<std::string> read_repository_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  auto size = static_cast<std::size_t>(in.tellg());
  if (size > k_max_repository_json_bytes)
    throw Error(ErrorKind::integrity, "'" + path.string() + "' is " + std::to_string(size) +
                                          " bytes, more than any dbkeeper writes; refused as damaged or tampered with");
  in.seekg(0);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

const std::string& require_plain_name(const std::string& name, const std::string& what) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw Error(ErrorKind::integrity, what + " names the file '" + name +
                                          "', which is not a plain name inside its directory; refused as tampering");
  return name;
}

}  // namespace dbkeeper
