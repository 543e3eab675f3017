#include "core/spelling_suggestion.h"

#include <gtest/gtest.h>

#include <array>

namespace dbkeeper {
namespace {

TEST(edit_distance, counts_edits_and_swaps) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("port", "port"), 0u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u);
  EXPECT_EQ(edit_distance("listen_adress", "listen_address"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(closest_match, suggests_only_likely_typos) {
  constexpr std::array<std::string_view, 4> keys{"host", "port", "user", "password_file"};
  EXPECT_EQ(closest_match("prot", keys), "port");
  EXPECT_EQ(closest_match("pasword_file", keys), "password_file");
  EXPECT_EQ(closest_match("compression", keys), std::nullopt);
  EXPECT_EQ(closest_match("x", std::span<const std::string_view>{}), std::nullopt);
}

}  // namespace
}  // namespace dbkeeper
