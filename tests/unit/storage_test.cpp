#include "backup/storage/storage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

std::unique_ptr<Storage> posix(const TempDir& dir) {
  StorageSettings settings;
  settings.driver = "posix";
  settings.path = dir.path();
  return open_storage(settings);
}

std::span<const std::byte> bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

TEST(PosixStorage, an_object_is_visible_only_once_committed_and_whole) {
  TempDir dir;
  auto storage = posix(dir);
  {
    auto writer = storage->create("shop/backups/1/manifest.json");
    writer->write(bytes("{\"id\":"));
    EXPECT_FALSE(storage->stat("shop/backups/1/manifest.json"));
    EXPECT_TRUE(storage->list("shop/").empty()) << "a writer in progress is listed";
    writer->write(bytes("1}"));
    EXPECT_EQ(writer->commit(), 8u);
  }
  EXPECT_EQ(read_object(*storage, "shop/backups/1/manifest.json"), "{\"id\":1}");
  auto info = storage->stat("shop/backups/1/manifest.json");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 8u);
  {
    auto abandoned = storage->create("shop/backups/2/manifest.json");
    abandoned->write(bytes("half"));
  }
  EXPECT_FALSE(storage->stat("shop/backups/2/manifest.json"));
  auto listed = storage->list("shop/");
  ASSERT_EQ(listed.size(), 1u) << "an abandoned writer left something listed";
  EXPECT_EQ(listed[0].key, "shop/backups/1/manifest.json");
}

TEST(PosixStorage, lists_by_prefix_sorted_and_removes_what_it_is_told) {
  TempDir dir;
  auto storage = posix(dir);
  for (const char* key : {"shop/b/2", "shop/b/1", "shop/a", "shopping/x", "billing/y"})
    write_object(*storage, key, key);
  std::vector<std::string> keys;
  for (const auto& object : storage->list("shop/")) keys.push_back(object.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"shop/a", "shop/b/1", "shop/b/2"}));
  EXPECT_EQ(storage->list("shop").size(), 4u);  // a prefix, not a directory
  storage->remove({"shop/b/1", "shop/never-was"});
  EXPECT_FALSE(storage->stat("shop/b/1"));
  EXPECT_TRUE(storage->stat("shop/b/2"));
  EXPECT_THROW(read_object(*storage, "shop/b/1"), Error);
}

TEST(PosixStorage, keys_that_leave_the_store_are_refused) {
  TempDir dir;
  auto storage = posix(dir);
  for (const char* key : {"../etc/passwd", "/etc/passwd", "shop/../../x", "shop//x", "shop/./x", "", "shop/"}) {
    try {
      storage->stat(key);
      FAIL() << key;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::integrity) << key;
    }
  }
}

TEST(Storage, an_unknown_driver_is_named_with_the_known_ones) {
  StorageSettings settings;
  settings.driver = "ftp";
  try {
    open_storage(settings);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown storage driver 'ftp' (known: posix, s3)"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dbkeeper
