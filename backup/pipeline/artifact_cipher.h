#pragma once
// Authenticated encryption of stored artifacts: AES-256-GCM over 64 KiB
// chunks (the STREAM construction), with a key derived per artifact from
// the target's secret and a random salt (HKDF-SHA256). Each chunk's nonce
// is its index and its tag also covers whether it is the last one, so
// reordered, dropped or truncated chunks fail like damaged ones.
//
// Stored layout: "DBKENC01" | salt (32) | key check (16) | chunks, each the
// ciphertext of up to 64 KiB followed by its 16-byte tag; the last chunk
// is shorter than a full one (empty when the plaintext filled the one
// before). The key check tells a wrong key from damaged data.

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "backup/pipeline/byte_sink.h"
#include "core/secret.h"

namespace dbkeeper {

inline constexpr const char* k_artifact_cipher = "aes-256-gcm";
// A secret shorter than this is refused: the key is derived, not stretched.
inline constexpr std::size_t k_min_encryption_secret_bytes = 32;

// The secrets an encrypted artifact may have been written with: the
// current one first, then older ones still kept for reading.
using EncryptionKeys = std::vector<const Secret*>;

class EncryptingSink final : public ByteSink {
 public:
  EncryptingSink(ByteSink& next, const Secret& secret);
  ~EncryptingSink() override;
  void write(std::span<const std::byte> data) override;
  void finish() override;

 private:
  struct Context;
  void seal(bool last);
  std::unique_ptr<Context> m_context;
  ByteSink& m_next;
  std::vector<std::byte> m_plain;
  std::vector<std::byte> m_sealed;
  std::uint64_t m_index = 0;
};

// Reads with whichever of `keys` the artifact's key check names. Throws
// Error{integrity} naming the cause: not encrypted by dbkeeper, none of the
// keys, or damaged/truncated data.
class DecryptingSink final : public ByteSink {
 public:
  DecryptingSink(ByteSink& next, const EncryptionKeys& keys);
  ~DecryptingSink() override;
  void write(std::span<const std::byte> data) override;
  void finish() override;

 private:
  struct Context;
  void open(std::span<const std::byte> chunk, bool last);
  std::unique_ptr<Context> m_context;
  ByteSink& m_next;
  std::vector<std::byte> m_pending;  // header, then at most one chunk not yet known to be the last
  std::vector<std::byte> m_plain;
  std::uint64_t m_index = 0;
};

}  // namespace dbkeeper
