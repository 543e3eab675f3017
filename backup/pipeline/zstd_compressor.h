#pragma once
// Streaming zstd compression (libzstd). With `threads` > 0 libzstd compresses
// on its own worker threads, so compression overlaps with the dump.

#include <memory>
#include <vector>

#include "backup/pipeline/byte_sink.h"

namespace dbkeeper {

struct CompressionSettings {
  int level = 3;
  int threads = 0;  // 0: compress on the calling thread
};

class ZstdCompressor final : public ByteSink {
 public:
  ZstdCompressor(ByteSink& next, const CompressionSettings& settings);
  ~ZstdCompressor() override;
  void write(std::span<const std::byte> data) override;
  void finish() override;
  std::size_t raw_bytes() const { return m_raw_bytes; }

 private:
  struct Context;
  void drive(std::span<const std::byte> data, bool end);
  std::unique_ptr<Context> m_context;
  ByteSink& m_next;
  std::vector<std::byte> m_output;
  std::size_t m_raw_bytes = 0;
};

// Decompresses a zstd stream into `next`; throws Error{integrity} on corrupt
// or truncated input.
class ZstdDecompressor final : public ByteSink {
 public:
  explicit ZstdDecompressor(ByteSink& next);
  ~ZstdDecompressor() override;
  void write(std::span<const std::byte> data) override;
  void finish() override;

 private:
  struct Context;
  std::unique_ptr<Context> m_context;
  ByteSink& m_next;
  std::vector<std::byte> m_output;
  bool m_frame_complete = true;
};

}  // namespace dbkeeper
