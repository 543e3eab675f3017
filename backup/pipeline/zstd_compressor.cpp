#include "backup/pipeline/zstd_compressor.h"

#include <zstd.h>

#include "core/error.h"

namespace dbkeeper {

struct ZstdCompressor::Context {
  ZSTD_CCtx* cctx = nullptr;
  ~Context() { ZSTD_freeCCtx(cctx); }
};

ZstdCompressor::ZstdCompressor(ByteSink& next, const CompressionSettings& settings)
    : m_context(std::make_unique<Context>()), m_next(next), m_output(ZSTD_CStreamOutSize()) {
  m_context->cctx = ZSTD_createCCtx();
  if (!m_context->cctx) throw Error(ErrorKind::internal, "unable to create a zstd compression context");
  auto check = [](size_t rc, const char* what) {
    if (ZSTD_isError(rc)) throw Error(ErrorKind::config, std::string("zstd ") + what + ": " + ZSTD_getErrorName(rc));
  };
  check(ZSTD_CCtx_setParameter(m_context->cctx, ZSTD_c_compressionLevel, settings.level), "compression level");
  check(ZSTD_CCtx_setParameter(m_context->cctx, ZSTD_c_checksumFlag, 1), "checksum flag");
  if (settings.threads > 0)
    check(ZSTD_CCtx_setParameter(m_context->cctx, ZSTD_c_nbWorkers, settings.threads), "worker threads");
}

ZstdCompressor::~ZstdCompressor() = default;

void ZstdCompressor::drive(std::span<const std::byte> data, bool end) {
  ZSTD_inBuffer input{data.data(), data.size(), 0};
  for (;;) {
    ZSTD_outBuffer output{m_output.data(), m_output.size(), 0};
    size_t remaining = ZSTD_compressStream2(m_context->cctx, &output, &input, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(remaining))
      throw Error(ErrorKind::internal, std::string("zstd compression failed: ") + ZSTD_getErrorName(remaining));
    if (output.pos > 0) m_next.write({m_output.data(), output.pos});
    if (end ? remaining == 0 : input.pos == input.size) break;
  }
}

void ZstdCompressor::write(std::span<const std::byte> data) {
  m_raw_bytes += data.size();
  drive(data, false);
}

void ZstdCompressor::finish() {
  drive({}, true);
  m_next.finish();
}

struct ZstdDecompressor::Context {
  ZSTD_DCtx* dctx = nullptr;
  ~Context() { ZSTD_freeDCtx(dctx); }
};

ZstdDecompressor::ZstdDecompressor(ByteSink& next)
    : m_context(std::make_unique<Context>()), m_next(next), m_output(ZSTD_DStreamOutSize()) {
  m_context->dctx = ZSTD_createDCtx();
  if (!m_context->dctx) throw Error(ErrorKind::internal, "unable to create a zstd decompression context");
}

ZstdDecompressor::~ZstdDecompressor() = default;

void ZstdDecompressor::write(std::span<const std::byte> data) {
  ZSTD_inBuffer input{data.data(), data.size(), 0};
  while (input.pos < input.size) {
    ZSTD_outBuffer output{m_output.data(), m_output.size(), 0};
    size_t rc = ZSTD_decompressStream(m_context->dctx, &output, &input);
    if (ZSTD_isError(rc))
      throw Error(ErrorKind::integrity, std::string("zstd data is corrupt: ") + ZSTD_getErrorName(rc));
    m_frame_complete = rc == 0;
    if (output.pos > 0) m_next.write({m_output.data(), output.pos});
  }
}

void ZstdDecompressor::finish() {
  // Drain anything libzstd still holds, then insist the frame ended.
  for (;;) {
    ZSTD_inBuffer input{nullptr, 0, 0};
    ZSTD_outBuffer output{m_output.data(), m_output.size(), 0};
    size_t rc = ZSTD_decompressStream(m_context->dctx, &output, &input);
    if (ZSTD_isError(rc))
      throw Error(ErrorKind::integrity, std::string("zstd data is corrupt: ") + ZSTD_getErrorName(rc));
    if (output.pos > 0) m_next.write({m_output.data(), output.pos});
    if (output.pos < output.size) {
      m_frame_complete = m_frame_complete || rc == 0;
      break;
    }
  }
  if (!m_frame_complete) throw Error(ErrorKind::integrity, "zstd data is truncated");
  m_next.finish();
}

}  // namespace dbkeeper
