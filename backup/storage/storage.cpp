#include "backup/storage/storage.h"

#include <array>

#include "backup/storage/posix_storage.h"
#include "backup/storage/s3_storage.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

class StringSink final : public ByteSink {
 public:
  explicit StringSink(std::string& out) : m_out(out) {}
  void write(std::span<const std::byte> data) override {
    m_out.append(reinterpret_cast<const char*>(data.data()), data.size());
  }
  void finish() override {}

 private:
  std::string& m_out;
};

constexpr std::array k_drivers{
    StorageDriver{"posix", "files under a local directory", open_posix_storage},
    StorageDriver{"s3", "objects in an S3-compatible bucket (AWS S3, Ceph radosgw, ...)", open_s3_storage},
};

}  // namespace

std::string read_object(const Storage& storage, const std::string& key) {
  std::string content;
  StringSink sink(content);
  storage.read(key, sink);
  return content;
}

void write_object(Storage& storage, const std::string& key, std::string_view content) {
  auto writer = storage.create(key);
  writer->write(std::as_bytes(std::span(content.data(), content.size())));
  writer->commit();
}

std::span<const StorageDriver> storage_drivers() {
  return k_drivers;
}

std::unique_ptr<Storage> open_storage(const StorageSettings& settings) {
  std::string known;
  for (const auto& driver : k_drivers) {
    if (driver.name == settings.driver) return driver.open(settings);
    known += (known.empty() ? "" : ", ") + std::string(driver.name);
  }
  throw Error(ErrorKind::config, "unknown storage driver '" + settings.driver + "' (known: " + known + ")");
}

const std::string& require_plain_key(const std::string& key) {
  bool plain = !key.empty() && key.front() != '/' && key.back() != '/' && key.find('\0') == std::string::npos;
  for (std::size_t start = 0; plain && start <= key.size();) {
    auto end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    auto part = std::string_view(key).substr(start, end - start);
    plain = !part.empty() && part != "." && part != "..";
    start = end + 1;
  }
  if (!plain) throw Error(ErrorKind::integrity, "'" + key + "' is not a plain object key; refused as tampering");
  return key;
}

}  // namespace dbkeeper
