#include "protocol/reflow.h"

#include <algorithm>

namespace roam {
namespace {

// A row's text is its cells up to the last one written (or marked): the
// never-written cells after it are no text, and at the end of a wrapped row
// they are the padding a wide character left when it moved to the next row.
int text_end(const Row& r) {
  int n = static_cast<int>(r.cells.size());
  const int last_mark = r.marks.empty() ? -1 : r.marks.back().first;
  while (n > 0 && r.cells[n - 1].ch == 0 && last_mark < n - 1) --n;
  return n;
}

// The rows [first, end) form one line when each but the last is wrapped.
bool joins_next(std::span<const Row> rows, int k) { return rows[k].wrapped && k + 1 < static_cast<int>(rows.size()); }

// Where laying out a line ended: its last output row, the columns used on
// it, the column of the last glyph, and the cells of text (tails included).
struct Laid {
  int row = 0, col = 0, last_col = 0, total = 0;
};

// Lays out the text of rows [first, end) at `cols` columns, glyph by glyph:
// on_glyph(k, x, w, offset, out_row, out_col, out_w) for the glyph at column
// x of input row k, w cells wide there and out_w in the output (a wide
// character at one column becomes narrow); on_break(out_row) when an output
// row is full and the line goes on.
template <class OnGlyph, class OnBreak>
Laid lay_out(std::span<const Row> rows, int first, int end, int cols, OnGlyph&& on_glyph, OnBreak&& on_break) {
  Laid at;
  for (int k = first; k < end; ++k) {
    const Cell* c = rows[k].cells.data();
    const int len = text_end(rows[k]);
    for (int x = 0; x < len;) {
      const int w = c[x].width == 2 && x + 1 < len && c[x + 1].ch == Cell::wide_tail ? 2 : 1;
      const int out_w = std::min(w, cols);
      if (at.col + out_w > cols) {
        on_break(at.row);
        ++at.row;
        at.col = 0;
      }
      on_glyph(k, x, w, at.total, at.row, at.col, out_w);
      at.last_col = at.col;
      at.col += out_w;
      at.total += w;
      x += w;
    }
  }
  return at;
}

// The offset in its line's text of the cell a place is on. A place in the
// padding of a wrapped row is at the start of the next row's text.
int offset_in_line(std::span<const Row> rows, const GridPos& p, int line_start) {
  int offset = 0;
  for (int k = line_start; k < p.y; ++k) offset += text_end(rows[k]);
  const Row& row = rows[p.y];
  const int width = static_cast<int>(row.cells.size());
  int x = std::clamp(p.x, 0, std::max(width - 1, 0));
  if (p.pending_wrap && x < width) x += row.cells[x].width == 2 ? 2 : 1;
  if (joins_next(rows, p.y)) x = std::min(x, text_end(row));
  return offset + x;
}

}  // namespace

Reflow::Reflow(std::span<const Row> rows, int cols, std::span<GridPos> places) : rows_(rows), cols_(std::max(cols, 1)) {
  const int n = static_cast<int>(rows.size());
  struct Target {
    int line_start = -1;  // -1: not on these rows, left alone
    int offset = 0;
    bool done = false;
  };
  std::vector<Target> targets(places.size());
  for (size_t i = 0; i < places.size(); ++i) {
    const GridPos& p = places[i];
    if (p.y < 0 || p.y >= n) continue;
    int start = p.y;
    while (start > 0 && rows[start - 1].wrapped) --start;
    targets[i] = {start, offset_in_line(rows, p, start), false};
  }
  for (int first = 0; first < n;) {
    int end = first + 1;
    while (joins_next(rows, end - 1)) ++end;
    const int out = size_;
    lines_.push_back({first, end, out});
    const bool has_places = std::any_of(targets.begin(), targets.end(), [&](const Target& t) { return t.line_start == first; });
    auto on_glyph = [&](int, int, int w, int offset, int out_row, int out_col, int out_w) {
      if (!has_places) return;
      for (size_t i = 0; i < targets.size(); ++i) {
        Target& t = targets[i];
        if (t.line_start != first || t.done || t.offset < offset || t.offset >= offset + w) continue;
        places[i] = {out_col + std::min(t.offset - offset, out_w - 1), out + out_row, false};
        t.done = true;
      }
    };
    const Laid at = lay_out(rows, first, end, cols_, on_glyph, [](int) {});
    for (size_t i = 0; i < targets.size(); ++i) {
      Target& t = targets[i];
      if (t.line_start != first || t.done) continue;
      // Past the text: just past a full last row is its last glyph, pending wrap.
      if (t.offset == at.total && at.col == cols_)
        places[i] = {at.last_col, out + at.row, true};
      else
        places[i] = {std::min(at.col + (t.offset - at.total), cols_ - 1), out + at.row, false};
    }
    const Row& last = rows[end - 1];
    const size_t shown = std::min(last.cells.size(), static_cast<size_t>(cols_));
    const bool blank = at.total == 0 && std::all_of(last.cells.begin(), last.cells.begin() + static_cast<std::ptrdiff_t>(shown),
                                                    [](const Cell& c) { return c == Cell{}; });
    blank_at_end_ = blank ? blank_at_end_ + 1 : 0;
    size_ += at.row + 1;
    first = end;
  }
}

void Reflow::write(int first, int last, const std::function<void(Row&)>& out) const {
  first = std::max(first, 0);
  last = std::min(last, size_);
  if (first >= last) return;
  Row row;
  auto fresh = [&] {
    row.cells.assign(static_cast<size_t>(cols_), Cell{});
    row.marks.clear();
    row.wrapped = false;
  };
  fresh();
  // The line holding output row `first`: the last one starting at or before it.
  auto line = std::upper_bound(lines_.begin(), lines_.end(), first, [](int y, const Line& l) { return y < l.out_row; });
  for (--line; line != lines_.end() && line->out_row < last; ++line) {
    const int base = line->out_row;
    auto active = [&](int out_row) { return base + out_row >= first && base + out_row < last; };
    auto on_glyph = [&](int k, int x, int w, int, int out_row, int out_col, int out_w) {
      if (!active(out_row)) return;
      const Row& src = rows_[k];
      Cell head = src.cells[x];
      if (head.ch == Cell::wide_tail) {
        // Half a character with no head before it: a blank, as Screen makes them.
        head = Cell{};
        head.bg = src.cells[x].bg;
      }
      head.width = static_cast<uint8_t>(out_w);
      row.cells[out_col] = head;
      if (out_w == 2) row.cells[out_col + 1] = src.cells[x + 1];
      if (src.marks.empty()) return;
      auto m = std::lower_bound(src.marks.begin(), src.marks.end(), x,
                                [](const auto& mark, int col) { return mark.first < col; });
      for (; m != src.marks.end() && m->first < x + w; ++m)
        if (m->first == x) row.marks.emplace_back(static_cast<uint16_t>(out_col), m->second);
    };
    auto on_break = [&](int out_row) {
      if (!active(out_row)) return;
      row.wrapped = true;
      out(row);
      fresh();
    };
    const Laid at = lay_out(rows_, line->first_row, line->end_row, cols_, on_glyph, on_break);
    if (!active(at.row)) continue;
    // The blank cells after the text of the line's last row keep their
    // colour as far as they fit.
    const Row& src = rows_[line->end_row - 1];
    const int width = static_cast<int>(src.cells.size());
    for (int s = text_end(src), o = at.col; s < width && o < cols_; ++s, ++o) row.cells[o] = src.cells[s];
    row.wrapped = src.wrapped;
    out(row);
    fresh();
  }
}

}  // namespace roam
