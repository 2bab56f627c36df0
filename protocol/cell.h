// One character cell of a terminal screen, and a row of them. Shared by the
// server's terminal (mux), its history, the wire diffs and the client's copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace roam {

// A colour packed in 32 bits: the top byte says which kind, the low 24 bits
// hold a palette index (0-255) or 0xRRGGBB.
struct Color {
  enum Kind : uint8_t { default_color = 0, indexed = 1, rgb = 2 };
  uint32_t packed = 0;

  static constexpr Color none() { return {}; }
  static constexpr Color index(uint8_t i) { return {uint32_t{indexed} << 24 | i}; }
  static constexpr Color from_rgb(uint8_t r, uint8_t g, uint8_t b) {
    return {uint32_t{rgb} << 24 | uint32_t{r} << 16 | uint32_t{g} << 8 | b};
  }
  constexpr Kind kind() const { return static_cast<Kind>(packed >> 24); }
  constexpr uint32_t value() const { return packed & 0xffffff; }
  friend constexpr bool operator==(Color, Color) = default;
};

// Rendition flags. Underline takes two bits (none, single, double, curly).
enum Attr : uint16_t {
  attr_bold = 1 << 0,
  attr_faint = 1 << 1,
  attr_italic = 1 << 2,
  attr_underline_shift = 3,
  attr_underline_mask = 3 << 3,
  attr_blink = 1 << 5,
  attr_reverse = 1 << 6,
  attr_conceal = 1 << 7,
  attr_strike = 1 << 8,
};

struct Pen {
  Color fg, bg;
  uint16_t attrs = 0;
  friend constexpr bool operator==(const Pen&, const Pen&) = default;
};

struct Cell {
  // Sentinel in `ch` for the right half of a double-width character.
  static constexpr uint32_t wide_tail = 0xffffffff;

  uint32_t ch = 0;  // Unicode scalar; 0 = never written (shown as a space)
  Color fg, bg;
  uint16_t attrs = 0;
  uint8_t width = 1;  // 2 for the left half of a wide character

  Pen pen() const { return {fg, bg, attrs}; }
  void set_pen(const Pen& p) {
    fg = p.fg;
    bg = p.bg;
    attrs = p.attrs;
  }
  friend constexpr bool operator==(const Cell&, const Cell&) = default;
};
static_assert(sizeof(Cell) == 16, "cells stay compact");

struct Row {
  std::vector<Cell> cells;
  // Combining marks are rare: kept beside the cells, sorted by column, so a
  // plain cell stays 16 bytes.
  std::vector<std::pair<uint16_t, std::u32string>> marks;
  bool wrapped = false;  // the line continues on the next row (soft wrap)
  friend bool operator==(const Row&, const Row&) = default;
};

// Shows nothing: a space or a never-written cell in the default pen (what
// EL leaves behind).
inline bool looks_blank(const Cell& c) { return (c.ch == 0 || c.ch == ' ') && c.pen() == Pen{}; }
inline bool looks_blank(const Row& r) {
  for (const Cell& c : r.cells)
    if (!looks_blank(c)) return false;
  return r.marks.empty();
}

// The cells before the trailing never-written default ones, which every
// encoding of a row leaves implied.
inline size_t used_cells(const Row& r) {
  size_t n = r.cells.size();
  while (n > 0 && r.cells[n - 1] == Cell{}) --n;
  return n;
}

}  // namespace roam
