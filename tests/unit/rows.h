// Rows as text and from text, for the unit tests.
#pragma once

#include <string>
#include <string_view>

#include "protocol/cell.h"

namespace roam::test {

// ASCII text as cells with the default pen.
inline Row text_row(std::string_view s) {
  Row r;
  for (char c : s) r.cells.push_back(Cell{static_cast<uint32_t>(static_cast<unsigned char>(c)), {}, {}, 0, 1});
  return r;
}

// Never-written cells as spaces, wide tails skipped, other non-ASCII as
// '?', trailing spaces dropped.
inline std::string text(const Row& row) {
  std::string out;
  for (const Cell& c : row.cells) {
    if (c.ch == Cell::wide_tail) continue;
    out += c.ch == 0 ? ' ' : c.ch < 0x80 ? static_cast<char>(c.ch) : '?';
  }
  out.erase(out.find_last_not_of(' ') + 1);
  return out;
}

}  // namespace roam::test
