#include "backup/database_description.h"

#include <gtest/gtest.h>

#include "backup/manifest.h"

namespace dbkeeper {
namespace {

DatabaseDescription sample() {
  DatabaseDescription d;
  d.properties.owner = "app";
  d.properties.encoding = "UTF8";
  d.properties.comment = "the shop";
  d.properties.settings = {"search_path=sales, public"};
  d.properties.grants = std::vector<DatabaseGrant>{{"reporting", "CONNECT", false}};
  d.properties.extensions = {{"pg_stat_statements", "1.10", "public"}};
  d.objects = {{"sequence", "public.s", "d1", "app", "", 42},
               {"table", "public.t", "d2", "app", "{app=arwdDxt/app,reporting=r/app}", std::nullopt},
               {"view", "public.v", "d3", "reporting", "", std::nullopt}};
  return d;
}

TEST(DatabaseDescription, EqualCopyHasNoProblems) {
  EXPECT_TRUE(compare_descriptions(sample(), sample(), {}).empty());
}

TEST(DatabaseDescription, NamesEveryDifference) {
  auto copy = sample();
  copy.properties.comment = "";
  copy.properties.settings.clear();
  copy.properties.grants.reset();
  copy.objects[0].value = 1;
  copy.objects[1].digest = "other";
  copy.objects.pop_back();
  copy.objects.push_back({"index", "public.extra", "d4", "", "", std::nullopt});
  auto problems = compare_descriptions(sample(), copy, {});
  auto joined = std::string();
  for (const auto& p : problems) joined += p + "\n";
  EXPECT_NE(joined.find("comment is ''"), std::string::npos) << joined;
  EXPECT_NE(joined.find("settings are none"), std::string::npos) << joined;
  EXPECT_NE(joined.find("privileges are the default"), std::string::npos) << joined;
  EXPECT_NE(joined.find("sequence 'public.s' stands at 1, below the 42"), std::string::npos) << joined;
  EXPECT_NE(joined.find("table 'public.t' has another definition"), std::string::npos) << joined;
  EXPECT_NE(joined.find("view 'public.v' is missing"), std::string::npos) << joined;
  EXPECT_NE(joined.find("index 'public.extra' is in the copy but not in the backup"), std::string::npos) << joined;
  EXPECT_EQ(problems.size(), 7u) << joined;
}

TEST(DatabaseDescription, ScopeLeavesOutWhatTheRestoreWasToldToChange) {
  auto copy = sample();
  copy.properties.owner = "dbkeeper";
  copy.properties.grants.reset();
  copy.properties.extensions.clear();
  for (auto& object : copy.objects) {
    object.owner = "dbkeeper";
    object.acl = "";
  }
  EXPECT_FALSE(compare_descriptions(sample(), copy, {}).empty());
  CopyScope scope{false, false, {"pg_stat_statements"}};
  EXPECT_TRUE(compare_descriptions(sample(), copy, scope).empty());
}

TEST(DatabaseDescription, SequenceAheadOfTheBackupIsFine) {
  auto copy = sample();
  copy.objects[0].value = 50;  // pg_dump read it after the backup started
  EXPECT_TRUE(compare_descriptions(sample(), copy, {}).empty());
}

TEST(DatabaseDescription, DigestIgnoresTheDatabaseName) {
  EXPECT_EQ(definition_digest("select `shop`.`t`.`id` from `shop`.`t`", "shop"),
            definition_digest("select `copy`.`t`.`id` from `copy`.`t`", "copy"));
  EXPECT_NE(definition_digest("select `other`.`t`.`id`", "shop"), definition_digest("select `t`.`id`", "shop"));
}

TEST(DatabaseDescription, ManifestRoundTrip) {
  BackupManifest m;
  m.id = "20261201T000000Z";
  m.target = "t";
  m.engine = "postgres";
  m.descriptions["shop"] = sample();
  auto back = manifest_from_json(manifest_to_json(m));
  ASSERT_EQ(back.descriptions.count("shop"), 1u);
  const auto& d = back.descriptions.at("shop");
  EXPECT_EQ(d.properties, sample().properties);
  EXPECT_EQ(d.objects, sample().objects);
}

}  // namespace
}  // namespace dbkeeper
