#include "protocol/row_codec.h"

#include <limits>
#include <string>

#include "protocol/screen.h"

namespace roam {
namespace {

enum TextCode : uint64_t { text_blank = 0, text_repeat = 1, text_wide = 2, text_raw = 3, text_narrow = 0x20 };

// A run this long or longer is sent as one repeated item.
constexpr int min_repeat = 3;

constexpr uint64_t max_u32 = std::numeric_limits<uint32_t>::max();

bool same_pen(const Cell& a, const Cell& b) { return a.fg == b.fg && a.bg == b.bg && a.attrs == b.attrs; }

// Colour kinds fit two bits.
void put_color(RowOut& out, Color c) { out.varint(uint64_t{c.value()} << 2 | c.kind()); }

void put_pen(RowOut& out, const Cell& c) {
  const bool fg = c.fg != Color::none(), bg = c.bg != Color::none();
  out.varint(uint64_t{c.attrs} << 2 | uint64_t{fg} << 1 | uint64_t{bg});
  if (fg) put_color(out, c.fg);
  if (bg) put_color(out, c.bg);
}

// How many cells the text item at x covers: a wide character with its tail is one.
int item_cells(const Cell* c, int x, int n) {
  return c[x].width == 2 && x + 1 < n && c[x + 1].ch == Cell::wide_tail && c[x + 1].width == 1 ? 2 : 1;
}

void put_item(RowOut& out, const Cell& c, int cells) {
  if (cells == 2) {
    out.varint(text_wide);
    out.varint(c.ch);
  } else if (c.width == 1 && c.ch == 0) {
    out.varint(text_blank);
  } else if (c.width == 1 && c.ch >= text_narrow) {
    out.varint(c.ch);
  } else {
    out.varint(text_raw);
    out.varint(c.ch);
    out.varint(c.width);
  }
}

Color read_color(wire::Reader& r, bool& ok) {
  const uint64_t code = r.varint_or_zero(uint64_t{0xffffff} << 2 | 3);
  if ((code & 3) > Color::rgb) ok = false;
  return Color{static_cast<uint32_t>((code & 3) << 24 | code >> 2)};
}

}  // namespace

void put_row(RowOut& out, const Row& row) {
  const Cell* c = row.cells.data();
  const int n = static_cast<int>(used_cells(row));
  out.varint(static_cast<uint64_t>(n) << 2 | uint64_t{row.wrapped} << 1 | uint64_t{!row.marks.empty()});
  for (int x = 0; x < n;) {
    int end = x + 1;
    while (end < n && same_pen(c[end], c[x])) ++end;
    out.varint(static_cast<uint64_t>(end - x));
    put_pen(out, c[x]);
    x = end;
  }
  for (int x = 0; x < n;) {
    // Most cells: a printable ASCII character unlike the next one.
    if (c[x].width == 1 && c[x].ch - text_narrow < 0x80 - text_narrow && (x + 1 == n || c[x + 1].ch != c[x].ch)) {
      out.varint(c[x++].ch);
      continue;
    }
    const int cells = item_cells(c, x, n);
    int end = x + cells, count = 1;
    while (end + cells <= n && c[end].ch == c[x].ch && c[end].width == c[x].width && item_cells(c, end, n) == cells) {
      end += cells;
      ++count;
    }
    if (count >= min_repeat) {
      out.varint(text_repeat);
      out.varint(static_cast<uint64_t>(count));
      put_item(out, c[x], cells);
    } else {
      for (int i = 0; i < count; ++i) put_item(out, c[x], cells);
    }
    x = end;
  }
  if (!row.marks.empty()) {
    out.varint(row.marks.size());
    int next = 0;
    for (const auto& [col, chars] : row.marks) {
      out.varint(static_cast<uint64_t>(col - next));
      next = col + 1;
      out.varint(chars.size());
      for (char32_t ch : chars) out.varint(ch);
    }
  }
}


Result<void> read_row(wire::Reader& r, int cols, Row& row) {
  const uint64_t head = r.varint_or_zero(static_cast<uint64_t>(cols) << 2 | 3);
  if (!r.ok()) return r.finish();
  const size_t n = head >> 2;
  row.wrapped = head & 2;
  row.cells.assign(n, Cell{});
  row.marks.clear();
  Cell* c = row.cells.data();
  for (size_t x = 0; x < n;) {
    const size_t len = r.varint_or_zero(n - x);
    const uint64_t pen = r.varint_or_zero(uint64_t{0xffff} << 2 | 3);
    bool ok = len > 0;
    const Color fg = pen & 2 ? read_color(r, ok) : Color::none();
    const Color bg = pen & 1 ? read_color(r, ok) : Color::none();
    if (!r.ok()) return r.finish();
    if (!ok) return fail(Errc::malformed);
    for (size_t end = x + len; x < end; ++x) c[x].set_pen({fg, bg, static_cast<uint16_t>(pen >> 2)});
  }
  for (size_t x = 0; x < n;) {
    uint64_t code = r.varint_or_zero(), count = 1;
    if (code == text_repeat) {
      count = r.varint_or_zero(n - x);
      code = r.varint_or_zero();
    }
    uint64_t ch = 0, width = 1;
    size_t cells = 1;
    if (code == text_wide) {
      ch = r.varint_or_zero(max_u32);
      width = cells = 2;
    } else if (code == text_raw) {
      ch = r.varint_or_zero(max_u32);
      width = r.varint_or_zero(std::numeric_limits<uint8_t>::max());
    } else if (code >= text_narrow) {
      ch = code;
    } else if (code != text_blank) {
      return r.ok() ? fail(Errc::malformed) : r.finish();
    }
    if (!r.ok()) return r.finish();
    if (count == 0 || ch > max_u32 || count * cells > n - x) return fail(Errc::malformed);
    for (; count > 0; --count) {
      c[x].ch = static_cast<uint32_t>(ch);
      c[x].width = static_cast<uint8_t>(width);
      if (cells == 2) c[x + 1].ch = Cell::wide_tail;
      x += cells;
    }
  }
  if (head & 1) {
    const uint64_t count = r.varint_or_zero(static_cast<uint64_t>(cols));
    if (!r.ok()) return r.finish();
    if (count == 0) return fail(Errc::malformed);
    uint64_t col = 0;  // the first column the next mark may take
    for (uint64_t i = 0; i < count; ++i) {
      col += r.varint_or_zero(static_cast<uint64_t>(cols));
      const uint64_t len = r.varint_or_zero(Screen::max_marks);
      if (!r.ok()) return r.finish();
      if (col >= static_cast<uint64_t>(cols) || len == 0) return fail(Errc::malformed);
      std::u32string chars;
      for (uint64_t j = 0; j < len; ++j) chars.push_back(static_cast<char32_t>(r.varint_or_zero(max_u32)));
      if (!r.ok()) return r.finish();
      row.marks.emplace_back(static_cast<uint16_t>(col), std::move(chars));
      ++col;
    }
  }
  return {};
}

}  // namespace roam
