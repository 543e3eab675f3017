#include "backup/pipeline/artifact_cipher.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>

#include "core/error.h"

namespace dbkeeper {
namespace {

constexpr char k_magic[8] = {'D', 'B', 'K', 'E', 'N', 'C', '0', '1'};
constexpr std::size_t k_salt_bytes = 32;
constexpr std::size_t k_check_bytes = 16;
constexpr std::size_t k_header_bytes = sizeof(k_magic) + k_salt_bytes + k_check_bytes;
constexpr std::size_t k_key_bytes = 32;
constexpr std::size_t k_tag_bytes = 16;
constexpr std::size_t k_chunk_bytes = 64 * 1024;
constexpr std::size_t k_sealed_chunk_bytes = k_chunk_bytes + k_tag_bytes;
constexpr char k_info[] = "dbkeeper artifact aes-256-gcm v1";

struct DerivedKey {
  std::array<unsigned char, k_key_bytes> key{};
  std::array<unsigned char, k_check_bytes> check{};
  ~DerivedKey() { OPENSSL_cleanse(key.data(), key.size()); }
};

DerivedKey derive_key(const Secret& secret, const unsigned char* salt) {
  if (secret.reveal().size() < k_min_encryption_secret_bytes)
    throw Error(ErrorKind::config,
                "the encryption secret is shorter than " + std::to_string(k_min_encryption_secret_bytes) + " bytes");
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* context = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (!context) throw Error(ErrorKind::internal, "HKDF is not available in this OpenSSL");
  std::string digest = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.reveal().data()),
                                        secret.reveal().size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<unsigned char*>(salt), k_salt_bytes),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(k_info), sizeof(k_info) - 1),
      OSSL_PARAM_construct_end()};
  unsigned char output[k_key_bytes + k_check_bytes];
  int derived = EVP_KDF_derive(context, output, sizeof(output), params);
  EVP_KDF_CTX_free(context);
  if (derived != 1) throw Error(ErrorKind::internal, "HKDF key derivation failed");
  DerivedKey result;
  std::memcpy(result.key.data(), output, k_key_bytes);
  std::memcpy(result.check.data(), output + k_key_bytes, k_check_bytes);
  OPENSSL_cleanse(output, sizeof(output));
  return result;
}

std::array<unsigned char, 12> chunk_nonce(std::uint64_t index) {
  std::array<unsigned char, 12> nonce{};
  for (int i = 0; i < 8; ++i) nonce[11 - i] = static_cast<unsigned char>(index >> (8 * i));
  return nonce;
}

struct CipherContext {
  EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
  DerivedKey key;
  CipherContext() {
    if (!cipher) throw Error(ErrorKind::internal, "unable to allocate an AES-GCM context");
  }
  ~CipherContext() { EVP_CIPHER_CTX_free(cipher); }
  CipherContext(const CipherContext&) = delete;
  CipherContext& operator=(const CipherContext&) = delete;
};

const unsigned char* bytes(const std::byte* data) {
  return reinterpret_cast<const unsigned char*>(data);
}
unsigned char* bytes(std::byte* data) {
  return reinterpret_cast<unsigned char*>(data);
}

}  // namespace

struct EncryptingSink::Context : CipherContext {
  Secret secret;
  bool header_written = false;
};

EncryptingSink::EncryptingSink(ByteSink& next, const Secret& secret)
    : m_context(std::make_unique<Context>()), m_next(next) {
  m_context->secret = secret;
  m_plain.reserve(k_chunk_bytes);
  m_sealed.resize(k_sealed_chunk_bytes);
}

EncryptingSink::~EncryptingSink() = default;

void EncryptingSink::write(std::span<const std::byte> data) {
  while (!data.empty()) {
    auto take = std::min(data.size(), k_chunk_bytes - m_plain.size());
    m_plain.insert(m_plain.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
    // A full chunk is never the last: the stream ends with a shorter one.
    if (m_plain.size() == k_chunk_bytes) seal(false);
  }
}

void EncryptingSink::finish() {
  seal(true);
  m_next.finish();
}

void EncryptingSink::seal(bool last) {
  auto& context = *m_context;
  if (!context.header_written) {
    std::byte header[k_header_bytes];
    std::memcpy(header, k_magic, sizeof(k_magic));
    auto* salt = bytes(header + sizeof(k_magic));
    if (RAND_bytes(salt, k_salt_bytes) != 1) throw Error(ErrorKind::internal, "no random bytes for the salt");
    context.key = derive_key(context.secret, salt);
    std::memcpy(header + sizeof(k_magic) + k_salt_bytes, context.key.check.data(), k_check_bytes);
    m_next.write(header);
    context.header_written = true;
  }
  auto nonce = chunk_nonce(m_index++);
  unsigned char final_flag = last ? 1 : 0;
  int length = 0;
  int tail = 0;
  auto* out = bytes(m_sealed.data());
  if (EVP_EncryptInit_ex(context.cipher, EVP_aes_256_gcm(), nullptr, context.key.key.data(), nonce.data()) != 1 ||
      EVP_EncryptUpdate(context.cipher, nullptr, &length, &final_flag, 1) != 1 ||
      EVP_EncryptUpdate(context.cipher, out, &length, bytes(m_plain.data()), static_cast<int>(m_plain.size())) != 1 ||
      EVP_EncryptFinal_ex(context.cipher, out + length, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.cipher, EVP_CTRL_GCM_GET_TAG, k_tag_bytes, out + length + tail) != 1)
    throw Error(ErrorKind::internal, "AES-GCM encryption failed");
  m_next.write(std::span(m_sealed.data(), static_cast<std::size_t>(length + tail) + k_tag_bytes));
  m_plain.clear();
}

struct DecryptingSink::Context : CipherContext {
  std::vector<Secret> secrets;
  bool header_read = false;
};

DecryptingSink::DecryptingSink(ByteSink& next, const EncryptionKeys& keys)
    : m_context(std::make_unique<Context>()), m_next(next) {
  for (const Secret* key : keys) m_context->secrets.push_back(*key);
  m_plain.resize(k_chunk_bytes);
}

DecryptingSink::~DecryptingSink() = default;

void DecryptingSink::write(std::span<const std::byte> data) {
  m_pending.insert(m_pending.end(), data.begin(), data.end());
  auto& context = *m_context;
  std::size_t offset = 0;
  if (!context.header_read) {
    if (m_pending.size() < k_header_bytes) return;
    if (std::memcmp(m_pending.data(), k_magic, sizeof(k_magic)) != 0)
      throw Error(ErrorKind::integrity, "not an artifact encrypted by dbkeeper (unknown header)");
    const auto* salt = bytes(m_pending.data() + sizeof(k_magic));
    const auto* check = m_pending.data() + sizeof(k_magic) + k_salt_bytes;
    bool found = false;
    for (const auto& secret : context.secrets) {
      context.key = derive_key(secret, salt);
      if ((found = CRYPTO_memcmp(context.key.check.data(), check, k_check_bytes) == 0)) break;
    }
    if (!found)
      throw Error(ErrorKind::integrity,
                  "encrypted with a different key than the configured encryption_key_file" +
                      std::string(context.secrets.size() > 1 ? " and previous_encryption_key_files" : ""));
    context.header_read = true;
    offset = k_header_bytes;
  }
  // Only a chunk with more bytes after it is known not to be the last.
  while (m_pending.size() - offset > k_sealed_chunk_bytes) {
    open(std::span(m_pending.data() + offset, k_sealed_chunk_bytes), false);
    offset += k_sealed_chunk_bytes;
  }
  m_pending.erase(m_pending.begin(), m_pending.begin() + static_cast<std::ptrdiff_t>(offset));
}

void DecryptingSink::finish() {
  if (!m_context->header_read) throw Error(ErrorKind::integrity, "encrypted artifact is truncated (no header)");
  if (m_pending.size() < k_tag_bytes) throw Error(ErrorKind::integrity, "encrypted artifact is truncated");
  open(m_pending, true);
  m_pending.clear();
  m_next.finish();
}

void DecryptingSink::open(std::span<const std::byte> chunk, bool last) {
  auto& context = *m_context;
  auto nonce = chunk_nonce(m_index);
  unsigned char final_flag = last ? 1 : 0;
  auto text = chunk.first(chunk.size() - k_tag_bytes);
  std::array<unsigned char, k_tag_bytes> tag;
  std::memcpy(tag.data(), chunk.data() + text.size(), k_tag_bytes);
  int length = 0;
  int tail = 0;
  auto* out = bytes(m_plain.data());
  if (EVP_DecryptInit_ex(context.cipher, EVP_aes_256_gcm(), nullptr, context.key.key.data(), nonce.data()) != 1 ||
      EVP_DecryptUpdate(context.cipher, nullptr, &length, &final_flag, 1) != 1 ||
      EVP_DecryptUpdate(context.cipher, out, &length, bytes(text.data()), static_cast<int>(text.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.cipher, EVP_CTRL_GCM_SET_TAG, k_tag_bytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(context.cipher, out + length, &tail) != 1)
    throw Error(ErrorKind::integrity, "encrypted chunk " + std::to_string(m_index) +
                                          " fails authentication (the artifact is damaged or truncated)");
  ++m_index;
  m_next.write(std::span(m_plain.data(), static_cast<std::size_t>(length + tail)));
}

}  // namespace dbkeeper
