#include "backup/storage/aws_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "backup/pipeline/sha256_sink.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &length))
    throw Error(ErrorKind::internal, "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  for (unsigned char c : bytes) {
    text += digits[c >> 4];
    text += digits[c & 15];
  }
  return text;
}

}  // namespace

std::string aws_uri_encode(std::string_view text, bool keep_slash) {
  static const char digits[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += digits[c >> 4];
      encoded += digits[c & 15];
    }
  }
  return encoded;
}

std::string aws_canonical_query(const std::map<std::string, std::string>& parameters) {
  // Sorted by encoded key; encoding keeps the order of plain ASCII keys.
  std::map<std::string, std::string> encoded;
  for (const auto& [key, value] : parameters) encoded[aws_uri_encode(key, false)] = aws_uri_encode(value, false);
  std::string query;
  for (const auto& [key, value] : encoded) query += (query.empty() ? "" : "&") + key + "=" + value;
  return query;
}

std::string aws_authorization(const AwsRequestToSign& request, std::string_view access_key,
                              std::string_view secret_key) {
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : request.headers) {
    // Values trimmed, inner runs of spaces folded to one.
    std::string folded;
    for (char c : value)
      if (c != ' ' || (!folded.empty() && folded.back() != ' ')) folded += c;
    while (!folded.empty() && folded.back() == ' ') folded.pop_back();
    canonical_headers += name + ":" + folded + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }
  std::string canonical_request = request.method + "\n" + request.canonical_uri + "\n" + request.canonical_query +
                                  "\n" + canonical_headers + "\n" + signed_headers + "\n" + request.payload_hash;
  std::string date = request.amz_date.substr(0, 8);
  std::string scope = date + "/" + request.region + "/" + request.service + "/aws4_request";
  std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + request.amz_date + "\n" + scope + "\n" + sha256_hex(canonical_request);
  std::string key = hmac("AWS4" + std::string(secret_key), date);
  key = hmac(key, request.region);
  key = hmac(key, request.service);
  key = hmac(key, "aws4_request");
  return "AWS4-HMAC-SHA256 Credential=" + std::string(access_key) + "/" + scope + ", SignedHeaders=" + signed_headers +
         ", Signature=" + hex(hmac(key, string_to_sign));
}

}  // namespace dbkeeper
