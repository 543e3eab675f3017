#pragma once
// Where a repository keeps its objects: one interface, drivers listed in
// one table (storage_drivers(), as pgBackRest's Storage with its posix and
// s3 drivers). Keys are relative, '/'-separated names ("shop/backups/ID/
// manifest.json"); a driver maps them to files or objects.
//
// Writes are atomic: an object created by streaming into it becomes
// visible only when commit() returns, whole; a writer destroyed without
// commit() leaves nothing (a temporary file removed, a multipart upload
// aborted). So a backup exists when, and only when, its manifest object
// exists, written last.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backup/pipeline/byte_sink.h"
#include "backup/storage/s3_settings.h"

namespace dbkeeper {

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point modified;
};

// Streams an object into the store. write() may block while earlier data
// is uploaded (bounded memory); finish() is commit() without a result.
class ObjectWriter : public ByteSink {
 public:
  // Makes the object visible, whole, and returns its stored size (checked
  // against what was written). Throws Error{io} naming the object.
  virtual std::uint64_t commit() = 0;
  void finish() override { commit(); }
};

class Storage {
 public:
  virtual ~Storage() = default;

  // "/var/lib/dbkeeper/repository" or "s3://bucket/prefix at https://host": for messages.
  virtual std::string describe() const = 0;

  virtual std::unique_ptr<ObjectWriter> create(const std::string& key) = 0;
  // Streams the whole object into `sink` (and finish()es it). Throws
  // Error{io}; Error{config} with "not found" when it does not exist.
  virtual void read(const std::string& key, ByteSink& sink) const = 0;
  // nullopt when it does not exist.
  virtual std::optional<ObjectInfo> stat(const std::string& key) const = 0;
  // Every object whose key starts with `prefix`, sorted by key.
  virtual std::vector<ObjectInfo> list(const std::string& prefix) const = 0;
  // Removes the objects; a key that does not exist is not an error.
  virtual void remove(const std::vector<std::string>& keys) = 0;
  // Removes what writers under `prefix` left when they were killed or the
  // store failed before they could clean up (temporary files, multipart
  // uploads never completed nor aborted). The caller must be the only
  // writer under `prefix` (it holds the lock of the job that writes there).
  // Returns how many it removed.
  virtual std::size_t remove_abandoned_writes(const std::string& prefix) = 0;
  // The file object `key` is (or would be) on this host, for a driver that
  // keeps objects as local files (posix): readers then use it in place.
  // nullopt for a remote store.
  virtual std::optional<std::filesystem::path> local_path(const std::string&) const { return std::nullopt; }
};

// The whole object as bytes: for small objects (manifests, records, state).
std::string read_object(const Storage& storage, const std::string& key);
// Writes a small object atomically.
void write_object(Storage& storage, const std::string& key, std::string_view content);

// A repository's storage settings, as [[repository]] spells them.
struct StorageSettings {
  std::string driver = "posix";  // a name from storage_drivers()
  std::filesystem::path path;    // posix: the directory
  S3Settings s3;                 // s3
};

struct StorageDriver {
  std::string_view name;
  std::string_view description;
  std::unique_ptr<Storage> (*open)(const StorageSettings& settings);
};

std::span<const StorageDriver> storage_drivers();
// Throws Error{config} naming the known drivers.
std::unique_ptr<Storage> open_storage(const StorageSettings& settings);
// The posix driver at `root` (the local repository), unchecked.
std::unique_ptr<Storage> posix_storage_at(const std::filesystem::path& root);

// A key that stays inside the store: relative, '/'-separated, no empty,
// "." or ".." part, no NUL. Throws Error{integrity} naming `key` otherwise.
const std::string& require_plain_key(const std::string& key);

}  // namespace dbkeeper
