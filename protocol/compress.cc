#include "protocol/compress.h"

#include <zstd.h>

#include <new>

namespace roam {

namespace {

constexpr uint8_t stored = 0;
constexpr uint8_t zstd = 1;
// Below this a zstd frame (header, block header) cannot pay for itself.
constexpr size_t min_compress = 64;
// Screen diffs are sent every frame: favour speed over ratio.
constexpr int level = 1;

struct CFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

struct Compressor::Contexts {
  std::unique_ptr<ZSTD_CCtx, CFree> c{ZSTD_createCCtx()};
  std::unique_ptr<ZSTD_DCtx, DFree> d{ZSTD_createDCtx()};
};

Compressor::Compressor() : ctx_(std::make_unique<Contexts>()) {
  if (!ctx_->c || !ctx_->d) throw std::bad_alloc();
  ZSTD_CCtx_setParameter(ctx_->c.get(), ZSTD_c_compressionLevel, level);
}
Compressor::~Compressor() = default;
Compressor::Compressor(Compressor&&) noexcept = default;
Compressor& Compressor::operator=(Compressor&&) noexcept = default;

void Compressor::pack(std::span<const uint8_t> body, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  if (body.size() >= min_compress) {
    out.resize(start + 1 + ZSTD_compressBound(body.size()));
    out[start] = zstd;
    const size_t n = ZSTD_compress2(ctx_->c.get(), out.data() + start + 1, out.size() - start - 1,
                                    body.data(), body.size());
    if (!ZSTD_isError(n) && n < body.size()) {
      out.resize(start + 1 + n);
      return;
    }
    out.resize(start);
  }
  out.push_back(stored);
  out.insert(out.end(), body.begin(), body.end());
}

Result<void> Compressor::unpack(std::span<const uint8_t> packed, size_t max_size,
                                std::vector<uint8_t>& out) {
  if (packed.empty()) return fail(Errc::truncated);
  const auto body = packed.subspan(1);
  if (packed[0] == stored) {
    if (body.size() > max_size) return fail(Errc::too_large);
    out.insert(out.end(), body.begin(), body.end());
    return {};
  }
  if (packed[0] != zstd) return fail(Errc::malformed);
  // We always write the content size; a frame without one, or with trailing
  // bytes after it, did not come from us.
  const unsigned long long size = ZSTD_getFrameContentSize(body.data(), body.size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) return fail(Errc::malformed);
  if (size > max_size) return fail(Errc::too_large);
  if (ZSTD_findFrameCompressedSize(body.data(), body.size()) != body.size()) return fail(Errc::malformed);
  const size_t start = out.size();
  out.resize(start + size);
  const size_t n = ZSTD_decompressDCtx(ctx_->d.get(), out.data() + start, size, body.data(), body.size());
  if (ZSTD_isError(n) || n != size) {
    out.resize(start);
    return fail(Errc::malformed);
  }
  return {};
}

}  // namespace roam
