#pragma once
// "Did you mean …?" for mistyped keys, commands and names.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dbkeeper {

// Edit distance (insertions, deletions, substitutions, adjacent swaps).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate when it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace dbkeeper
