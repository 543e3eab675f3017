#include "backup/pipeline/gzip_decompressor.h"

#include <zlib.h>

#include "core/error.h"

namespace dbkeeper {

struct GzipDecompressor::Stream {
  z_stream z{};
  bool initialised = false;
  ~Stream() {
    if (initialised) inflateEnd(&z);
  }
};

GzipDecompressor::GzipDecompressor(ByteSink& next)
    : m_stream(std::make_unique<Stream>()), m_next(next), m_output(128 * 1024) {
  // 16 + MAX_WBITS: expect a gzip header and trailer.
  if (inflateInit2(&m_stream->z, 16 + MAX_WBITS) != Z_OK)
    throw Error(ErrorKind::internal, "unable to initialise gzip decompression");
  m_stream->initialised = true;
}

GzipDecompressor::~GzipDecompressor() = default;

void GzipDecompressor::write(std::span<const std::byte> data) {
  z_stream& z = m_stream->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  while (z.avail_in > 0) {
    z.next_out = reinterpret_cast<Bytef*>(m_output.data());
    z.avail_out = static_cast<uInt>(m_output.size());
    int rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      throw Error(ErrorKind::integrity, std::string("gzip data is corrupt: ") + (z.msg ? z.msg : "inflate failed"));
    std::size_t produced = m_output.size() - z.avail_out;
    if (produced > 0) m_next.write({m_output.data(), produced});
    m_member_complete = rc == Z_STREAM_END;
    // Concatenated gzip members are one stream to gunzip; read on.
    if (rc == Z_STREAM_END && z.avail_in > 0) inflateReset(&z);
    if (rc == Z_BUF_ERROR && produced == 0) break;
  }
}

void GzipDecompressor::finish() {
  if (!m_member_complete) throw Error(ErrorKind::integrity, "gzip data is truncated");
  m_next.finish();
}

}  // namespace dbkeeper
