#pragma once
// How to reach an S3-compatible bucket. Plain data: agent/config knows how
// [[repository]] spells it; the secret comes from a 0600 file or the
// environment, never from the configuration itself.

#include <chrono>
#include <cstddef>
#include <string>

#include "core/secret.h"

namespace dbkeeper {

struct S3Settings {
  std::string name;      // the repository's name ([[repository]] name): messages and metrics
  std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:7480"
  std::string bucket;
  std::string region = "us-east-1";
  std::string prefix;      // keys are stored under it ("" or "dbkeeper/host1")
  bool path_style = true;  // https://host/bucket/key; false: https://bucket.host/key
  std::string ca_file;     // empty: the system's CAs
  bool verify_tls = true;
  std::string access_key;
  Secret secret_key;
  std::size_t part_size = 8 * 1024 * 1024;  // multipart part size (>= 5 MiB); grows past 5,000 parts
  int parts_in_flight = 4;                  // parts uploaded at once; memory is part_size x (this + 1)
  int max_attempts = 5;                     // per request, on connection errors, 5xx, 408 and 429
  std::chrono::milliseconds first_retry_delay{200};
  std::chrono::seconds request_timeout{300};
};

}  // namespace dbkeeper
