// A session's scrollback: rows that scrolled off the top of the primary
// screen, numbered from 0 in order of arrival, stored compactly and searchable.
//
// Rows are encoded as UTF-8 text plus sparse metadata (cell shapes that text
// alone cannot say, attribute runs where the pen is not the default, the
// soft-wrap flag), so a plain line costs about its text. Encoded rows gather
// in an open block; a full block (64 KiB or 4096 rows, and at most a quarter
// of either limit) is sealed and zstd-compressed. The line limit is exact:
// begin() moves a line at a time, and the oldest sealed block is dropped
// once none of its lines is kept (its older lines stay stored, unread,
// until then). The byte limit drops whole sealed blocks, oldest first.
//
// Not thread-safe, const methods included: reads and searches share a
// decompression context and a one-block cache. The zstd contexts (~750 KB)
// are made when first needed, so a session with little history stays small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/cell.h"
#include "protocol/result.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace roam::mux {

// Lines are examined from `from` towards newer lines, or with `backward`
// towards older ones, `from` included. A line matches if its text (see
// row_text) contains the needle; case-insensitive matching folds ASCII
// letters only. Matches do not span rows, soft-wrapped or not, and a needle
// that is empty or holds a newline matches nothing.
struct SearchOptions {
  bool case_sensitive = true;
  bool backward = false;
  uint64_t from = 0;  // backward from the newest line: UINT64_MAX
  size_t max_results = std::numeric_limits<size_t>::max();
};

// What search sees of a row: one codepoint per cell with combining marks
// after it, the right halves of wide characters skipped, never-written cells
// (ch 0) as spaces, trailing blank default cells dropped. Cells holding no
// printable character (controls, invalid scalars) contribute nothing.
std::string row_text(const Row& row);

class History {
 public:
  struct Limits {
    uint64_t max_lines = 1'000'000;
    // Counts stored_bytes(). 1,000,000 lines of log-like text take ~25 MB,
    // so the line limit is normally the one that bites; this one caps
    // output that does not compress (random or already-compressed data).
    uint64_t max_bytes = 64ull << 20;
  };

  History() : History(Limits{}) {}
  explicit History(Limits limits);

  // Stores `row` as line end(). Cells past column 65535 and combining marks
  // on columns past the row's end are not kept; marks that are not valid
  // Unicode scalars are kept as U+FFFD.
  void append(const Row& row);

  uint64_t begin() const { return begin_; }  // first retained line; as many were dropped
  uint64_t end() const { return end_; }

  // Lines [first, first + count) clipped to [begin(), end()), equal to the
  // rows appended: cells, widths, pens, marks, wrapped flag, and the row's
  // width (trailing never-written cells are not stored but come back).
  // Fails only if stored data is corrupt.
  Result<std::vector<Row>> read(uint64_t first, uint64_t count) const;

  // Compressed sealed blocks plus the open block's encoded rows.
  size_t stored_bytes() const { return sealed_bytes_ + open_text_.size() + open_meta_.size(); }

  // Matching line numbers in the order examined. `screen` holds the rows
  // not in history (the live screen), numbered from end(): forward searches
  // reach them after history, backward ones before it. Corrupt blocks are
  // skipped.
  std::vector<uint64_t> search(std::string_view needle, const SearchOptions& options,
                               std::span<const Row> screen = {}) const;

 private:
  struct Block {
    uint64_t first_line;
    uint32_t lines;
    uint32_t text_size;  // raw bytes [0, text_size) are text, the rest metadata
    uint32_t raw_size;
    bool compressed;  // false only if zstd failed: data holds the raw bytes
    std::vector<char> data;
  };
  // A block's rows as encoded: their text, each row's ended by '\n', and
  // their metadata.
  struct Segment {
    uint64_t first_line;
    uint32_t lines;
    std::string_view text, meta;
  };
  struct CCtxFree {
    void operator()(ZSTD_CCtx_s* c) const;
  };
  struct DCtxFree {
    void operator()(ZSTD_DCtx_s* d) const;
  };
  void seal();
  void enforce_limits();
  // The block holding `line`; blocks_.size() stands for the open block.
  size_t block_index(uint64_t line) const;
  // Block `index`'s rows, decompressed into the cache if need be.
  Result<Segment> segment(size_t index) const;

  Limits limits_;
  size_t seal_bytes_;
  uint32_t seal_lines_;

  std::deque<Block> blocks_;  // sealed, oldest first
  size_t sealed_bytes_ = 0;
  std::string open_text_;
  std::vector<uint8_t> open_meta_;
  uint32_t open_lines_ = 0;
  uint64_t begin_ = 0, end_ = 0;

  std::unique_ptr<ZSTD_CCtx_s, CCtxFree> cctx_;
  std::vector<char> compressed_;        // scratch for seal()
  std::vector<uint8_t> shapes_, pens_;  // scratch for append()

  mutable std::unique_ptr<ZSTD_DCtx_s, DCtxFree> dctx_;
  mutable uint64_t cached_first_line_ = std::numeric_limits<uint64_t>::max();
  mutable std::string cache_;
};

}  // namespace roam::mux
