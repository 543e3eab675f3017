#pragma once
// AWS Signature Version 4 for S3 requests, computed here (HMAC-SHA256 from
// OpenSSL) rather than by libcurl: Debian's libcurl 7.88 signs the query
// string verbatim, signs header removals it does not send, and hashes no
// streamed body. Pure functions over the request's parts.

#include <map>
#include <string>
#include <string_view>

namespace dbkeeper {

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
// (A-Z a-z 0-9 - . _ ~) as they are, everything else %XX (upper case);
// '/' kept when `keep_slash` (object keys in paths).
std::string aws_uri_encode(std::string_view text, bool keep_slash);

// "a=1&b=&c=x%2Fy": keys sorted, keys and values encoded, "=" after a key
// without value (curl issue #9717).
std::string aws_canonical_query(const std::map<std::string, std::string>& parameters);

struct AwsRequestToSign {
  std::string method;                          // "GET"
  std::string canonical_uri;                   // encoded path: "/bucket/key%20name"
  std::string canonical_query;                 // aws_canonical_query()
  std::map<std::string, std::string> headers;  // lower-case names; host, x-amz-date, x-amz-content-sha256 at least
  std::string payload_hash;                    // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
  std::string amz_date;                        // "20130524T000000Z"
  std::string region;                          // "us-east-1"
  std::string service = "s3";
};

// The value of the Authorization header.
std::string aws_authorization(const AwsRequestToSign& request, std::string_view access_key,
                              std::string_view secret_key);

}  // namespace dbkeeper
