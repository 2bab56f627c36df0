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
// hold a palette index (0-255) or 0xRRGGBB. An index below 16 is `indexed`
// when set by SGR 30-37/90-97 (40-47/100-107), and `palette` when set by
// 38;5;N (48;5;N): terminals whose 16 colours are not the first 16 of their
// 256-colour palette show the two differently.
struct Color {
  enum Kind : uint8_t { default_color = 0, indexed = 1, rgb = 2, palette = 3 };
  uint32_t packed = 0;

  static constexpr Color none() { return {}; }
  static constexpr Color index(uint8_t i) { return {uint32_t{indexed} << 24 | i}; }
  // 38;5;N: `palette` below 16, the same as index() from 16 on.
  static constexpr Color index256(uint8_t i) { return {uint32_t{i < 16 ? palette : indexed} << 24 | i}; }
  static constexpr Color from_rgb(uint8_t r, uint8_t g, uint8_t b) {
    return {uint32_t{rgb} << 24 | uint32_t{r} << 16 | uint32_t{g} << 8 | b};
  }
  constexpr Kind kind() const { return static_cast<Kind>(packed >> 24); }
  constexpr uint32_t value() const { return packed & 0xffffff; }
  friend constexpr bool operator==(Color, Color) = default;
};

// Rendition flags. Underline takes three bits, its style (SGR 4:N).
// `protected` is not a rendition: DECSCA's protection from selective erase.
enum Attr : uint16_t {
  attr_bold = 1 << 0,
  attr_faint = 1 << 1,
  attr_italic = 1 << 2,
  attr_underline_shift = 3,
  attr_underline_mask = 7 << 3,
  attr_blink = 1 << 6,
  attr_reverse = 1 << 7,
  attr_conceal = 1 << 8,
  attr_strike = 1 << 9,
  attr_protected = 1 << 10,
};
enum Underline : uint16_t { underline_none, underline_single, underline_double, underline_curly, underline_dotted, underline_dashed };

struct Pen {
  constexpr Pen() = default;
  constexpr Pen(Color f, Color b, uint16_t a = 0, Color u = {}) : fg(f), bg(b), attrs(a), ul(u) {}

  Color fg, bg;
  uint16_t attrs = 0;
  Color ul;  // underline colour (SGR 58)
  // What a terminal shows of it: without the protection.
  constexpr Pen look() const { return {fg, bg, static_cast<uint16_t>(attrs & ~attr_protected), ul}; }
  friend constexpr bool operator==(const Pen&, const Pen&) = default;
};

struct Cell {
  // Sentinel in `ch` for the right half of a double-width character.
  static constexpr uint32_t wide_tail = 0xffffffff;

  constexpr Cell() = default;
  constexpr Cell(uint32_t c, Color f, Color b, uint16_t a = 0, uint8_t w = 1, Color u = {})
      : ch(c), fg(f), bg(b), attrs(a), width(w), ul(u) {}

  uint32_t ch = 0;  // Unicode scalar; 0 = never written (shown as a space)
  Color fg, bg;
  uint16_t attrs = 0;
  uint8_t width = 1;  // 2 for the left half of a wide character
  Color ul;           // underline colour

  Pen pen() const { return {fg, bg, attrs, ul}; }
  void set_pen(const Pen& p) {
    fg = p.fg;
    bg = p.bg;
    attrs = p.attrs;
    ul = p.ul;
  }
  friend constexpr bool operator==(const Cell&, const Cell&) = default;
};
static_assert(sizeof(Cell) == 20, "cells stay compact");

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
inline bool looks_blank(const Cell& c) { return (c.ch == 0 || c.ch == ' ') && c.pen().look() == Pen{}; }
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
