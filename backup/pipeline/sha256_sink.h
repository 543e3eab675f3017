#pragma once
// Hashes the bytes that pass through it with SHA-256 (OpenSSL EVP).

#include <memory>
#include <string>
#include <string_view>

#include "backup/pipeline/byte_sink.h"

namespace dbkeeper {

class Sha256Sink final : public ByteSink {
 public:
  explicit Sha256Sink(ByteSink* next = nullptr);
  ~Sha256Sink() override;
  void write(std::span<const std::byte> data) override;
  void finish() override;
  // Lowercase hex digest; valid after finish().
  const std::string& hex_digest() const { return m_digest; }
  std::size_t bytes() const { return m_bytes; }

 private:
  struct Context;
  std::unique_ptr<Context> m_context;
  ByteSink* m_next;
  std::string m_digest;
  std::size_t m_bytes = 0;
};

// Lowercase hex SHA-256 of a whole string (manifests, file lists).
std::string sha256_hex(std::string_view text);

}  // namespace dbkeeper
