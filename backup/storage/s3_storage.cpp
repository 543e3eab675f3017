#include "backup/storage/s3_storage.h"

#include <curl/curl.h>

#include <algorithm>
#include <deque>
#include <future>

#include "backup/storage/s3_client.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

constexpr std::size_t k_minimum_part_size = 5 * 1024 * 1024;
constexpr int k_flat_parts = 5000;
constexpr int k_maximum_parts = 10000;  // S3's limit per multipart upload
constexpr std::size_t k_delete_batch = 1000;

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::chrono::system_clock::time_point parse_http_date(const std::string& text) {
  time_t seconds = curl_getdate(text.c_str(), nullptr);
  return std::chrono::system_clock::from_time_t(seconds < 0 ? 0 : seconds);
}

class S3Writer final : public ObjectWriter {
 public:
  S3Writer(const S3Client& client, std::string key) : m_client(client), m_key(std::move(key)) {
    m_part.reserve(part_size());
  }

  ~S3Writer() override {
    if (m_committed || m_upload_id.empty()) return;
    try {
      wait_all();
    } catch (...) {
    }
    try {
      m_client.send(S3Request{.method = "DELETE",
                              .key = m_key,
                              .query = {{"uploadId", m_upload_id}},
                              .operation = "abort of the multipart upload"});
    } catch (...) {
      // A store that cannot be reached keeps the upload until its lifecycle rule ends it.
    }
  }

  void write(std::span<const std::byte> data) override {
    while (!data.empty()) {
      std::size_t n = std::min(part_size() - m_part.size(), data.size());
      m_part.insert(m_part.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
      data = data.subspan(n);
      m_written += n;
      if (m_part.size() == part_size()) send_part();
    }
  }

  std::uint64_t commit() override {
    if (m_committed) return m_written;
    if (m_upload_id.empty()) {
      // Small enough for one request.
      m_client.send(S3Request{.method = "PUT", .key = m_key, .body = m_part, .operation = "upload"});
    } else {
      if (!m_part.empty()) send_part();
      wait_all();
      std::string body = "<CompleteMultipartUpload>";
      for (std::size_t i = 0; i < m_etags.size(); ++i)
        body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + xml_escape(m_etags[i]) +
                "</ETag></Part>";
      body += "</CompleteMultipartUpload>";
      auto response = m_client.send(S3Request{.method = "POST",
                                              .key = m_key,
                                              .query = {{"uploadId", m_upload_id}},
                                              .body = bytes_of(body),
                                              .operation = "completion of the upload"});
      // S3 may answer 200 with an error inside.
      if (xml_elements(response.body, "ETag").empty()) {
        auto codes = xml_elements(response.body, "Code");
        throw Error(ErrorKind::io,
                    "repository " + m_client.describe() + ": completion of the upload of '" + m_key +
                        "' failed: " + (codes.empty() ? std::string("no ETag in the answer") : codes.front()));
      }
    }
    m_committed = true;
    auto stored = m_client.send(S3Request{.method = "HEAD", .key = m_key, .operation = "size check"});
    auto length = stored.headers.find("content-length");
    std::uint64_t size = length == stored.headers.end() ? 0 : std::stoull(length->second);
    if (size != m_written)
      throw Error(ErrorKind::integrity, "repository " + m_client.describe() + ": '" + m_key + "' holds " +
                                            std::to_string(size) + " bytes after its upload of " +
                                            std::to_string(m_written));
    return size;
  }

 private:
  // The size of the part being filled. Flat for the first k_flat_parts
  // parts (memory stays part_size x (parts_in_flight + 1) for artifacts up to
  // that many parts: 39 GiB with the default 8 MiB); past them every thousand
  // parts double it, so that an artifact of any size S3 takes still fits in
  // its 10,000 parts.
  std::size_t part_size() const {
    std::size_t base = std::max(m_client.settings().part_size, k_minimum_part_size);
    int beyond = m_next_part - 1 - k_flat_parts;
    return beyond < 0 ? base : base << std::min(beyond / 1000 + 1, 10);
  }

  void send_part() {
    if (m_upload_id.empty()) {
      auto response = m_client.send(S3Request{
          .method = "POST", .key = m_key, .query = {{"uploads", ""}}, .operation = "start of a multipart upload"});
      auto ids = xml_elements(response.body, "UploadId");
      if (ids.empty() || ids.front().empty())
        throw Error(ErrorKind::io, "repository " + m_client.describe() + ": no UploadId for '" + m_key + "'");
      m_upload_id = ids.front();
    }
    // Bounded: wait for the oldest part while the pipe is full.
    while (static_cast<int>(m_in_flight.size()) >= std::max(1, m_client.settings().parts_in_flight)) collect_oldest();
    if (m_next_part > k_maximum_parts)
      throw Error(ErrorKind::io, "repository " + m_client.describe() + ": '" + m_key + "' needs more than " +
                                     std::to_string(k_maximum_parts) + " parts; raise part_size_mib");
    auto part = std::make_shared<std::vector<std::byte>>(std::move(m_part));
    int number = m_next_part++;
    m_part = {};
    m_part.reserve(part_size());
    m_etags.emplace_back();
    m_in_flight.push_back(std::async(std::launch::async, [this, part, number] {
      auto response =
          m_client.send(S3Request{.method = "PUT",
                                  .key = m_key,
                                  .query = {{"partNumber", std::to_string(number)}, {"uploadId", m_upload_id}},
                                  .body = *part,
                                  .operation = "upload of part " + std::to_string(number)});
      auto etag = response.headers.find("etag");
      if (etag == response.headers.end())
        throw Error(ErrorKind::io, "repository " + m_client.describe() + ": part " + std::to_string(number) + " of '" +
                                       m_key + "' got no ETag");
      return std::pair{number, etag->second};
    }));
  }

  void collect_oldest() {
    // Out of the queue first: a part that failed is collected once, not again.
    auto oldest = std::move(m_in_flight.front());
    m_in_flight.pop_front();
    auto [number, etag] = oldest.get();
    m_etags[static_cast<std::size_t>(number - 1)] = etag;
  }

  void wait_all() {
    std::exception_ptr failure;
    while (!m_in_flight.empty()) {
      try {
        collect_oldest();
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
  }

  const S3Client& m_client;
  std::string m_key;
  std::vector<std::byte> m_part;
  std::uint64_t m_written = 0;
  std::string m_upload_id;
  int m_next_part = 1;
  std::vector<std::string> m_etags;
  std::deque<std::future<std::pair<int, std::string>>> m_in_flight;
  bool m_committed = false;
};

class S3Storage final : public Storage {
 public:
  explicit S3Storage(S3Settings settings) : m_client(std::move(settings)) {
    auto& prefix = m_client.settings().prefix;
    m_prefix = prefix.empty() ? "" : prefix + "/";
  }

  std::string describe() const override { return m_client.describe(); }

  std::unique_ptr<ObjectWriter> create(const std::string& key) override {
    return std::make_unique<S3Writer>(m_client, full_key(key));
  }

  void read(const std::string& key, ByteSink& sink) const override {
    m_client.send(S3Request{.method = "GET", .key = full_key(key), .response_sink = &sink, .operation = "download"});
  }

  std::optional<ObjectInfo> stat(const std::string& key) const override {
    try {
      auto response = m_client.send(S3Request{.method = "HEAD", .key = full_key(key), .operation = "stat"});
      ObjectInfo info{key, 0, {}};
      if (auto length = response.headers.find("content-length"); length != response.headers.end())
        info.size = std::stoull(length->second);
      if (auto modified = response.headers.find("last-modified"); modified != response.headers.end())
        info.modified = parse_http_date(modified->second);
      return info;
    } catch (const Error& e) {
      if (std::string(e.what()).find("HTTP 404") != std::string::npos) return std::nullopt;
      throw;
    }
  }

  std::vector<ObjectInfo> list(const std::string& prefix) const override {
    std::vector<ObjectInfo> objects;
    std::string token;
    do {
      std::map<std::string, std::string> query{{"list-type", "2"}, {"prefix", m_prefix + prefix}, {"max-keys", "1000"}};
      if (!token.empty()) query["continuation-token"] = token;
      auto response = m_client.send(S3Request{.method = "GET", .query = query, .operation = "list"});
      for (const auto& contents : xml_elements(response.body, "Contents", false)) {
        auto keys = xml_elements(contents, "Key");
        if (keys.empty() || !keys.front().starts_with(m_prefix)) continue;
        ObjectInfo info{keys.front().substr(m_prefix.size()), 0, {}};
        if (auto sizes = xml_elements(contents, "Size"); !sizes.empty()) info.size = std::stoull(sizes.front());
        if (auto times = xml_elements(contents, "LastModified"); !times.empty())
          info.modified = parse_http_date(times.front());
        objects.push_back(std::move(info));
      }
      auto truncated = xml_elements(response.body, "IsTruncated");
      auto next = xml_elements(response.body, "NextContinuationToken");
      token = !truncated.empty() && truncated.front() == "true" && !next.empty() ? next.front() : "";
    } while (!token.empty());
    std::sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return objects;
  }

  std::size_t remove_abandoned_writes(const std::string& prefix) override {
    std::size_t removed = 0;
    std::string key_marker, upload_marker;
    while (true) {
      std::map<std::string, std::string> query{{"uploads", ""}, {"prefix", m_prefix + prefix}};
      if (!key_marker.empty()) query["key-marker"] = key_marker;
      if (!upload_marker.empty()) query["upload-id-marker"] = upload_marker;
      auto response = m_client.send(S3Request{.method = "GET", .query = query, .operation = "list of open uploads"});
      for (const auto& upload : xml_elements(response.body, "Upload", false)) {
        auto keys = xml_elements(upload, "Key");
        auto ids = xml_elements(upload, "UploadId");
        if (keys.empty() || ids.empty() || !keys.front().starts_with(m_prefix + prefix)) continue;
        m_client.send(S3Request{.method = "DELETE",
                                .key = keys.front(),
                                .query = {{"uploadId", ids.front()}},
                                .operation = "abort of an abandoned upload"});
        ++removed;
      }
      auto truncated = xml_elements(response.body, "IsTruncated");
      if (truncated.empty() || truncated.front() != "true") break;
      auto next_key = xml_elements(response.body, "NextKeyMarker");
      auto next_upload = xml_elements(response.body, "NextUploadIdMarker");
      if (next_key.empty() || next_upload.empty()) break;
      key_marker = next_key.front();
      upload_marker = next_upload.front();
    }
    return removed;
  }

  void remove(const std::vector<std::string>& keys) override {
    for (std::size_t start = 0; start < keys.size(); start += k_delete_batch) {
      std::string body = "<Delete><Quiet>true</Quiet>";
      for (std::size_t i = start; i < std::min(keys.size(), start + k_delete_batch); ++i)
        body += "<Object><Key>" + xml_escape(full_key(keys[i])) + "</Key></Object>";
      body += "</Delete>";
      auto response = m_client.send(S3Request{.method = "POST",
                                              .query = {{"delete", ""}},
                                              .headers = {{"content-md5", md5_base64(body)}},
                                              .body = bytes_of(body),
                                              .operation = "delete"});
      auto errors = xml_elements(response.body, "Error", false);
      if (!errors.empty()) {
        auto failed = xml_elements(errors.front(), "Key");
        auto codes = xml_elements(errors.front(), "Code");
        throw Error(ErrorKind::io, "repository " + describe() + ": delete of '" +
                                       (failed.empty() ? std::string("?") : failed.front()) +
                                       "' failed: " + (codes.empty() ? std::string("?") : codes.front()) + " (" +
                                       std::to_string(errors.size()) + " object(s) not deleted)");
      }
    }
  }

 private:
  std::string full_key(const std::string& key) const { return m_prefix + require_plain_key(key); }

  static std::string md5_base64(std::string_view text);

  S3Client m_client;
  std::string m_prefix;
};

}  // namespace
}  // namespace dbkeeper

#include <openssl/evp.h>

namespace dbkeeper {
namespace {

// DeleteObjects requires Content-MD5 (AWS); it is an integrity check here, not security.
std::string S3Storage::md5_base64(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr);
  unsigned char encoded[64];
  int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

}  // namespace

std::unique_ptr<Storage> open_s3_storage(const StorageSettings& settings) {
  const auto& s3 = settings.s3;
  if (s3.endpoint.empty() || s3.bucket.empty())
    throw Error(ErrorKind::config, "an s3 repository needs an endpoint and a bucket");
  if (s3.access_key.empty() || s3.secret_key.empty())
    throw Error(ErrorKind::config, "an s3 repository needs an access key and a secret key");
  if (s3.prefix.starts_with('/') || s3.prefix.ends_with('/'))
    throw Error(ErrorKind::config, "an s3 repository's prefix must not start or end with '/'");
  return std::make_unique<S3Storage>(s3);
}

}  // namespace dbkeeper
