#pragma once
// Repository files are input: anyone who can write the repository (or a
// damaged disk) decides what they hold. Everything read from one passes
// through these checks before it is used, so a crafted file is refused as
// tampering and can neither crash the agent nor point it outside the
// repository.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace dbkeeper {

inline constexpr std::size_t k_max_repository_json_bytes = 64 * 1024 * 1024;
inline constexpr int k_max_repository_json_depth = 32;

// Parses `text`, refusing (Error{integrity}, naming `what`) a document
// larger than k_max_repository_json_bytes or nested deeper than
// k_max_repository_json_depth, before anything deep is built.
nlohmann::json parse_untrusted_json(const std::string& text, const std::string& what);

// The content of a small repository file (manifest, record, state), or
// nullopt when it does not exist. Refuses (Error{integrity}) one larger
// than k_max_repository_json_bytes without reading it.
std::optional<std::string> read_repository_file(const std::filesystem::path& path);

// A file name that stays inside its directory: not empty, not "." or "..",
// no '/' and no NUL. Throws Error{integrity} naming `what` otherwise.
const std::string& require_plain_name(const std::string& name, const std::string& what);

}  // namespace dbkeeper
