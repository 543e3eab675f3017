#include "backup/pipeline/sha256_sink.h"

#include <openssl/evp.h>

#include "core/error.h"

namespace dbkeeper {

struct Sha256Sink::Context {
  EVP_MD_CTX* md = nullptr;
  ~Context() {
    if (md) EVP_MD_CTX_free(md);
  }
};

Sha256Sink::Sha256Sink(ByteSink* next) : m_context(std::make_unique<Context>()), m_next(next) {
  m_context->md = EVP_MD_CTX_new();
  if (!m_context->md || EVP_DigestInit_ex(m_context->md, EVP_sha256(), nullptr) != 1)
    throw Error(ErrorKind::internal, "unable to initialise SHA-256");
}

Sha256Sink::~Sha256Sink() = default;

void Sha256Sink::write(std::span<const std::byte> data) {
  if (EVP_DigestUpdate(m_context->md, data.data(), data.size()) != 1)
    throw Error(ErrorKind::internal, "SHA-256 update failed");
  m_bytes += data.size();
  if (m_next) m_next->write(data);
}

void Sha256Sink::finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(m_context->md, digest, &length) != 1) throw Error(ErrorKind::internal, "SHA-256 final failed");
  static constexpr char k_hex[] = "0123456789abcdef";
  m_digest.clear();
  for (unsigned i = 0; i < length; ++i) {
    m_digest += k_hex[digest[i] >> 4];
    m_digest += k_hex[digest[i] & 0xf];
  }
  if (m_next) m_next->finish();
}

std::string sha256_hex(std::string_view text) {
  Sha256Sink hasher;
  hasher.write(std::as_bytes(std::span(text.data(), text.size())));
  hasher.finish();
  return hasher.hex_digest();
}

}  // namespace dbkeeper
