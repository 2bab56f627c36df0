#include "mux/history.h"

#include <zstd.h>

#include <algorithm>

#include "mux/history_rows.h"
#include "protocol/wire.h"

namespace roam::mux {
namespace {

// A block is sealed once its encoded rows reach this size: large enough for
// zstd to exploit the repetition of log-like text, small enough that reading
// one line decompresses little. The line cap bounds how many rows a read
// decodes to reach its first one in blocks of very short rows.
constexpr size_t block_bytes = 64 << 10;
constexpr uint32_t block_lines = 4096;
// Level 1 stores ~3% more than level 3 for less CPU on every sealed block,
// which a flood of output pays for continuously.
constexpr int zstd_level = 1;
}  // namespace

void History::CCtxFree::operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
void History::DCtxFree::operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }

// Blocks shrink with small limits so that dropping one stays a small step.
History::History(Limits limits)
    : limits_(limits),
      seal_bytes_(static_cast<size_t>(std::clamp<uint64_t>(limits.max_bytes / 4, 1, block_bytes))),
      seal_lines_(
          static_cast<uint32_t>(std::clamp<uint64_t>(limits.max_lines / 4, 1, block_lines))) {}

void History::append(const Row& row) {
  encode_row(row, open_text_, open_meta_, shapes_, pens_);
  ++open_lines_;
  ++end_;
  if (open_text_.size() + open_meta_.size() >= seal_bytes_ || open_lines_ >= seal_lines_) seal();
  enforce_limits();
}

void History::seal() {
  Block block{.first_line = end_ - open_lines_,
              .lines = open_lines_,
              .text_size = static_cast<uint32_t>(open_text_.size()),
              .raw_size = 0,
              .compressed = false,
              .data = {}};
  open_text_.append(open_meta_.begin(), open_meta_.end());
  block.raw_size = static_cast<uint32_t>(open_text_.size());
  size_t size = 0;
  if (!cctx_) {
    cctx_.reset(ZSTD_createCCtx());
    if (cctx_) ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, zstd_level);
  }
  if (cctx_) {
    compressed_.resize(ZSTD_compressBound(open_text_.size()));
    size = ZSTD_compress2(cctx_.get(), compressed_.data(), compressed_.size(), open_text_.data(),
                          open_text_.size());
    block.compressed = !ZSTD_isError(size);
  }
  if (block.compressed) {
    block.data.assign(compressed_.begin(), compressed_.begin() + static_cast<ptrdiff_t>(size));
  } else {
    block.data.assign(open_text_.begin(), open_text_.end());
  }
  sealed_bytes_ += block.data.size();
  blocks_.push_back(std::move(block));
  open_text_.clear();
  open_meta_.clear();
  open_lines_ = 0;
}

void History::enforce_limits() {
  if (end_ - begin_ > limits_.max_lines) begin_ = end_ - limits_.max_lines;
  while (!blocks_.empty()) {
    const Block& oldest = blocks_.front();
    const uint64_t oldest_end = oldest.first_line + oldest.lines;
    if (oldest_end > begin_ && stored_bytes() <= limits_.max_bytes) break;
    begin_ = std::max(begin_, oldest_end);
    sealed_bytes_ -= oldest.data.size();
    blocks_.pop_front();
  }
  // Rows of the open block before begin_ (a zero limit) are never read.
}

size_t History::block_index(uint64_t line) const {
  if (line >= end_ - open_lines_) return blocks_.size();
  const auto after = std::upper_bound(blocks_.begin(), blocks_.end(), line,
                                      [](uint64_t l, const Block& b) { return l < b.first_line; });
  return after == blocks_.begin() ? 0 : static_cast<size_t>(after - blocks_.begin()) - 1;
}

Result<History::Segment> History::segment(size_t index) const {
  if (index == blocks_.size()) {
    return Segment{end_ - open_lines_, open_lines_, open_text_, wire::as_chars(open_meta_)};
  }
  const Block& block = blocks_[index];
  std::string_view raw(block.data.data(), block.data.size());
  if (block.compressed) {
    if (cached_first_line_ != block.first_line) {
      cached_first_line_ = std::numeric_limits<uint64_t>::max();
      if (!dctx_) dctx_.reset(ZSTD_createDCtx());
      if (!dctx_) return fail(Errc::malformed);
      cache_.resize(block.raw_size);
      const size_t n = ZSTD_decompressDCtx(dctx_.get(), cache_.data(), cache_.size(),
                                           block.data.data(), block.data.size());
      if (ZSTD_isError(n) || n != block.raw_size) return fail(Errc::malformed);
      cached_first_line_ = block.first_line;
    }
    raw = cache_;
  }
  if (block.text_size > raw.size()) return fail(Errc::malformed);
  return Segment{block.first_line, block.lines, raw.substr(0, block.text_size),
                 raw.substr(block.text_size)};
}

Result<std::vector<Row>> History::read(uint64_t first, uint64_t count) const {
  std::vector<Row> rows;
  const uint64_t lo = std::max(first, begin_);
  const uint64_t hi = first >= end_ || count >= end_ - first ? end_ : first + count;
  if (lo >= hi) return rows;
  rows.reserve(hi - lo);
  for (size_t index = block_index(lo); rows.size() < hi - lo; ++index) {
    if (index > blocks_.size()) return fail(Errc::malformed);
    auto seg = segment(index);
    if (!seg) return fail(seg.error());
    const uint64_t line = lo + rows.size();
    const uint64_t stop = std::min(hi, seg->first_line + seg->lines);
    size_t pos = 0;
    wire::Reader meta(wire::as_bytes(seg->meta));
    for (uint64_t l = seg->first_line; l < stop; ++l) {
      auto encoded = next_row(seg->text, pos, meta);
      if (!encoded) return fail(encoded.error());
      if (l < line) continue;
      if (auto ok = decode_row(*encoded, rows.emplace_back()); !ok) return fail(ok.error());
    }
  }
  return rows;
}

}  // namespace roam::mux
