#pragma once
// Requests to an S3-compatible service over libcurl, signed with SigV4
// (aws_signature.h), retried with exponential backoff and jitter on
// connection errors, 5xx, 408 and 429. Errors name the repository, the
// operation and the object; credentials never appear in them. One easy
// handle per request, so a client may be used from several threads.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backup/pipeline/byte_sink.h"
#include "backup/storage/s3_settings.h"

namespace dbkeeper {

struct S3Request {
  std::string method = "GET";
  std::string key;  // the object's full key in the bucket; empty for the bucket itself
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names; signed
  std::span<const std::byte> body;
  ByteSink* response_sink = nullptr;  // streams a 2xx body there instead of into S3Response::body
  std::string operation;              // "PUT", "list", ... for messages
};

struct S3Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class S3Client {
 public:
  explicit S3Client(S3Settings settings);

  // Sends `request` (retrying as above) and returns a 2xx response. Throws
  // Error{io} naming the repository, the operation, the key, the status and
  // S3's error code and message; Error{config} for 403 (credentials).
  S3Response send(const S3Request& request) const;

  const S3Settings& settings() const { return m_settings; }
  // "s3://bucket/prefix at endpoint".
  std::string describe() const;

 private:
  S3Settings m_settings;
};

// What the S3 requests of this process did, by repository name (for the
// storage collector): counters only grow.
struct S3RequestCounts {
  std::uint64_t requests = 0;  // attempts, retries included
  std::uint64_t retries = 0;
  std::uint64_t upload_bytes = 0;  // request bodies the store accepted
  std::map<std::string, std::uint64_t>
      errors;  // failed attempts by reason: connection, timeout, http_4xx, http_5xx, ...
};
std::map<std::string, S3RequestCounts> s3_request_counts();

// The inner texts of every <tag>…</tag> in `xml`, entities decoded (or
// raw, for an element whose children are read next).
std::vector<std::string> xml_elements(std::string_view xml, std::string_view tag, bool decode = true);

}  // namespace dbkeeper
