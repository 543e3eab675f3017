#pragma once
// Streaming gzip decompression (zlib), to prove that files pg_dump compressed
// itself (directory format) still decompress.

#include <memory>
#include <vector>

#include "backup/pipeline/byte_sink.h"

namespace dbkeeper {

class GzipDecompressor final : public ByteSink {
 public:
  explicit GzipDecompressor(ByteSink& next);
  ~GzipDecompressor() override;
  void write(std::span<const std::byte> data) override;
  // Throws Error{integrity} when the stream is truncated.
  void finish() override;

 private:
  struct Stream;
  std::unique_ptr<Stream> m_stream;
  ByteSink& m_next;
  std::vector<std::byte> m_output;
  bool m_member_complete = true;
};

}  // namespace dbkeeper
