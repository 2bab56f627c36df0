// How a row travels in a HostState diff:
//
// A row is varint (n << 2 | wrapped << 1 | has marks), where cells from n on
// are default blank cells (a blank row is one byte); then, if n > 0, pen runs
// covering [0, n), each `varint length, pen`; then the characters of [0, n)
// as items:
//     0              a blank cell (ch 0)
//     1 count item   `item` repeated `count` times
//     2 ch           a wide character: a width-2 cell and the wide_tail after it
//     3 ch width     any other cell, as it is
//     >= 0x20        a narrow character (4 to 0x1f are reserved)
// and, if the row has marks, varint count, then per marked column: varint
// column (the first as it is, later ones as the gap after the previous one),
// varint count, the codepoints.
// A pen is varint (attrs << 3 | has underline colour << 2 | has fg << 1 |
// has bg), then the colours it has (those that are not the default: fg, bg,
// underline), each varint (value << 2 | kind).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/cell.h"
#include "protocol/result.h"
#include "protocol/wire.h"

namespace roam {

// The row encoder's output: bytes gather in a buffer on the stack and go to
// the vector in chunks, because pushing them one by one onto the vector
// reloads its end after every byte (a byte store may alias anything).
class RowOut {
 public:
  explicit RowOut(std::vector<uint8_t>& out) : out_(out) {}
  RowOut(const RowOut&) = delete;
  RowOut& operator=(const RowOut&) = delete;
  ~RowOut() { flush(); }

  void varint(uint64_t v) {
    if (buf_ + sizeof buf_ - p_ < 10) flush();
    for (; v >= 0x80; v >>= 7) *p_++ = static_cast<uint8_t>(v | 0x80);
    *p_++ = static_cast<uint8_t>(v);
  }

 private:
  void flush() {
    out_.insert(out_.end(), buf_, p_);
    p_ = buf_;
  }

  std::vector<uint8_t>& out_;
  uint8_t buf_[512];
  uint8_t* p_ = buf_;
};

void put_row(RowOut& out, const Row& row);

// Reads a row of at most `cols` cells into `row`, reusing its storage.
Result<void> read_row(wire::Reader& r, int cols, Row& row);

}  // namespace roam
