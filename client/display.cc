#include "client/display.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "client/display_codes.h"
#include "client/prediction.h"
#include "protocol/sgr.h"
#include "protocol/utf8.h"

// How a frame is drawn:
//
// - open() prints a CR and one linefeed per terminal row from wherever the
//   user's cursor is: that scrolls exactly the rows down to the cursor's into
//   the scrollback and leaves a blank screen, without the ED 2 that some
//   terminals (VTE) turn into a scrollback push of their own. The title is
//   saved on xterm's title stack, to be restored by close().
// - A full paint (first frame, invalidate, resize) does not clear the screen:
//   each row is overwritten and erased to its end, and the blank rows at the
//   bottom are erased with one ED, so nothing blinks on terminals without
//   synchronized output and the output stays small.
// - Scrolls are found by hashing rows: a row that changed in place is looked
//   up among the rows the terminal shows, and the shift most rows agree on
//   wins; content is compared before any row is trusted. Upward scrolls
//   use SU in a region whose top is below row 0, since scrolling a region
//   that starts at row 0 feeds the terminal's scrollback (libvterm does,
//   whatever the region's bottom); row 0 is then repainted instead. Only
//   push_history() feeds the scrollback, with the lines the session's own
//   history holds. Downward scrolls use SD, which never touches the
//   scrollback. A frame
//   that scrolled by a whole screen or more since the last draw shows no
//   moved rows and is simply repainted.
// - Cells: runs of changed cells are written together, short unchanged gaps
//   written through, the cursor moved by the cheapest of CUP, CR, LF,
//   CUU/CUD/CUF/CUB and backspace. Linefeeds move the cursor only after a CR,
//   so the output means the same with or without the tty's ONLCR.
// - The last column: writing there leaves terminals waiting to wrap, so the
//   column is then taken as unknown and the next move is absolute (CR or
//   CUP), which cancels the pending wrap; even the bottom-right cell is
//   written plainly and never scrolls the screen.
// - Trailing blanks with the default pen are erased with EL (or a few spaces
//   when that is shorter); the pen is reset first because EL erases with
//   the current background.
// - SGR: the shorter of a change from the current pen and append_sgr's
//   reset-then-set.
// - Bells and OSC 52 are mirrored when the count or serial moves, never for
//   what happened before the first frame after open(): re-attaching must not
//   ring old bells or overwrite the local clipboard with a stale selection.

namespace roam::client {

using namespace codes;
namespace {

constexpr std::string_view sync_begin = "\x1b[?2026h";
constexpr std::string_view sync_end = "\x1b[?2026l";
// Unchanged plain cells between two changed ones are rewritten rather than
// jumped over when there are fewer than this many (a CUF costs 3-5 bytes).
constexpr int max_gap = 4;
// About what a region scroll costs: DECSTBM, SU/SD, reset, a CUP after.
constexpr int scroll_cost = 20;
const std::u32string* marks_at(const Row& r, int x) {
  auto it = std::lower_bound(r.marks.begin(), r.marks.end(), x,
                             [](const std::pair<uint16_t, std::u32string>& m, int col) { return m.first < col; });
  return it != r.marks.end() && it->first == x ? &it->second : nullptr;
}

bool same_marks_at(const Row& a, const Row& b, int x) {
  const std::u32string* ma = marks_at(a, x);
  const std::u32string* mb = marks_at(b, x);
  return ma == mb || (ma && mb && *ma == *mb);
}


// Every field of every cell, without a branch per field: the comparison of
// whole rows is most of what an unchanged frame costs.
bool same_cells(const std::vector<Cell>& a, const std::vector<Cell>& b) {
  if (a.size() != b.size()) return false;
  const auto diff = [](const Cell* x, const Cell* y, size_t n) {
    uint32_t d = 0;
    for (size_t i = 0; i < n; ++i)
      d |= (x[i].ch ^ y[i].ch) | (x[i].fg.packed ^ y[i].fg.packed) | (x[i].bg.packed ^ y[i].bg.packed) |
           static_cast<uint32_t>(x[i].attrs ^ y[i].attrs) | static_cast<uint32_t>(x[i].width ^ y[i].width) |
           (x[i].ul.packed ^ y[i].ul.packed);
    return d;
  };
  // Fixed-size blocks, which the compiler unrolls, with an exit between them.
  constexpr size_t block = 16;
  const size_t n = a.size();
  size_t i = 0;
  for (; i + block <= n; i += block)
    if (diff(a.data() + i, b.data() + i, block) != 0) return false;
  return diff(a.data() + i, b.data() + i, n - i) == 0;
}

bool same_look(const Row& a, const Row& b) { return same_cells(a.cells, b.cells) && a.marks == b.marks; }


uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

uint64_t row_hash(const Row& r) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const Cell& c : r.cells)
    h = mix(mix(mix(h, uint64_t{c.ch} << 32 | c.fg.packed), uint64_t{c.bg.packed} << 32 | uint32_t{c.attrs} << 8 | c.width),
            c.ul.packed);
  for (const auto& [x, m] : r.marks) h = mix(mix(h, x), m.size());
  return h;
}

}  // namespace

Display::Display(int cols, int rows) { resize(cols, rows); }

std::string Display::open() {
  std::string out = "\x1b[22;0t\r";
  out.append(static_cast<size_t>(rows_), '\n');
  out += "\x1b[H";
  invalidate();
  forget_session();
  return out;
}

void Display::forget_session() {
  modes_ = {};
  shape_ = {};
  title_.clear();
  icon_name_.clear();
  seen_frame_ = false;
}

void Display::invalidate() {
  for (Shown& s : shown_) s.known = false;
  cx_ = cy_ = -1;
  pen_known_ = false;
  cursor_visible_ = true;  // so the first paint hides it whatever it is
  fresh_ = true;
}

void Display::resize(int cols, int rows) {
  cols_ = std::clamp(cols, 1, Screen::max_cols);
  rows_ = std::clamp(rows, 1, Screen::max_rows);
  shown_.resize(static_cast<size_t>(rows_));
  for (Shown& s : shown_) s.row.cells.resize(static_cast<size_t>(cols_));
  invalidate();
}

std::string Display::close() {
  std::string out = "\x1b[r\x1b[0m";
  if (modes_.app_cursor_keys) out += "\x1b[?1l";
  if (modes_.app_keypad) out += "\x1b>";
  if (modes_.bracketed_paste) out += "\x1b[?2004l";
  if (modes_.focus_events) out += "\x1b[?1004l";
  if (modes_.reverse_video) out += "\x1b[?5l";
  if (modes_.mouse_tracking != MouseTracking::none) append_decset(mouse_mode(modes_.mouse_tracking), false, out);
  if (modes_.mouse_encoding != MouseEncoding::x10) append_decset(mouse_mode(modes_.mouse_encoding), false, out);
  if (cursor_style(shape_) != 0) out += "\x1b[0 q";
  out += "\x1b[23;0t";
  // The shell's prompt goes on the line below the last row with content.
  int last = rows_ - 1;
  while (last >= 0 && shown_[last].known && looks_blank(shown_[last].row)) --last;
  if (last + 1 < rows_) {
    out += "\x1b[";
    append_decimal(static_cast<unsigned>(last + 2), out);
    out += 'H';
  } else {
    out += "\x1b[";
    append_decimal(static_cast<unsigned>(rows_), out);
    out += "H\n";
  }
  out += "\x1b[?25h";

  invalidate();
  forget_session();
  return out;
}

const Row& Display::target(const Screen& frame, int y) {
  if (has_overlay_[y]) return overlaid_[y];
  if (frame.cols() == cols_ && y < frame.rows()) return frame.row(y);
  return clipped_[y];
}

// Copies the rows the overlay touches and patches the copies; target()
// then returns them. A patch over (part of) a wide character is left out.
void Display::lay_over(const Screen& frame, const Overlay& overlay) {
  overlaid_.resize(static_cast<size_t>(rows_));
  for (const Overlay::Patch& p : overlay.cells) {
    if (p.y < 0 || p.y >= rows_ || p.x < 0 || p.x >= cols_) continue;
    if (!has_overlay_[p.y]) {
      overlaid_[p.y] = target(frame, p.y);
      has_overlay_[p.y] = 1;
    }
    Cell& c = overlaid_[p.y].cells[p.x];
    if (c.width != 1 || c.ch == Cell::wide_tail) continue;
    c = p.cell;
    c.width = 1;
    std::erase_if(overlaid_[p.y].marks, [&](const auto& m) { return m.first == p.x; });
  }
}

void Display::draw(const Screen& frame, std::string& out, const Overlay* overlay) {
  // A frame of another size: cut or pad its rows to ours, cutting a wide
  // character in half to a blank, as Screen itself does.
  if (frame.cols() != cols_ || frame.rows() < rows_) {
    clipped_.resize(static_cast<size_t>(rows_));
    for (int y = 0; y < rows_; ++y) {
      Row& r = clipped_[y];
      if (y >= frame.rows()) {
        r.cells.assign(static_cast<size_t>(cols_), Cell{});
        r.marks.clear();
        continue;
      }
      if (frame.cols() != cols_) fit(frame.row(y), r);
    }
  }

  has_overlay_.assign(static_cast<size_t>(rows_), 0);
  if (overlay) lay_over(frame, *overlay);

  const size_t start = out.size();
  const bool pushed = std::exchange(pushed_history_, false);
  if (!pushed) out += sync_begin;
  const size_t body = out.size();
  const bool full = fresh_;
  if (full) {
    out += "\x1b[r";  // a stray scroll region would garble everything below
    cx_ = cy_ = -1;
  }
  mirror(frame, full, out);
  same_.resize(static_cast<size_t>(rows_));
  for (int y = 0; y < rows_; ++y) same_[y] = shown_[y].known && same_look(shown_[y].row, target(frame, y));
  if (!full) scroll_if_worth_it(frame, out);

  // Unknown rows at the bottom that should be blank go with one ED.
  int erase_from = rows_;
  while (erase_from > 0 && !shown_[erase_from - 1].known && looks_blank(target(frame, erase_from - 1))) --erase_from;
  for (int y = 0; y < erase_from; ++y) paint_row(y, target(frame, y), out);
  if (erase_from < rows_) {
    begin_paint(out);
    move_to(0, erase_from, out);
    set_pen(Pen{}, out);
    out += "\x1b[J";
    for (int y = erase_from; y < rows_; ++y) {
      Shown& s = shown_[y];
      s.row.cells = target(frame, y).cells;
      s.row.marks.clear();
      s.hash = row_hash(s.row);
      s.known = true;
    }
  }

  Cursor cursor = frame.cursor();
  if (overlay && overlay->has_cursor) {
    cursor.x = overlay->cursor_x;
    cursor.y = overlay->cursor_y;
  }
  place_cursor(cursor, full, out);
  fresh_ = false;
  // Cursor moves, modes and bells alone need no synchronizing.
  if (pushed)
    out += sync_end;
  else if (out.size() == body)
    out.resize(start);
  else if (!painting_)
    out.erase(start, sync_begin.size());
  else
    out += sync_end;
  painting_ = false;
}

// `src` cut or padded to our width, a wide character cut in half becoming a
// blank, as Screen itself does.
void Display::fit(const Row& src, Row& r) const {
  const size_t n = std::min(src.cells.size(), static_cast<size_t>(cols_));
  r.cells.assign(src.cells.begin(), src.cells.begin() + static_cast<std::ptrdiff_t>(n));
  r.cells.resize(static_cast<size_t>(cols_));
  r.marks.clear();
  for (const auto& m : src.marks)
    if (m.first < cols_) r.marks.push_back(m);
  Cell& last = r.cells.back();
  if (last.width == 2) {
    last = Cell{0, {}, last.bg, 0, 1};
    if (!r.marks.empty() && r.marks.back().first == cols_ - 1) r.marks.pop_back();
  }
}

void Display::push_history(std::span<const Row> lines, std::string& out) {
  if (lines.empty()) return;
  if (!pushed_history_) out += sync_begin;
  pushed_history_ = true;
  begin_paint(out);
  if (fresh_) out += "\x1b[r";  // the region may be anything; the full draw after resets it too
  same_.assign(static_cast<size_t>(rows_), 0);
  while (!lines.empty()) {
    const int m = static_cast<int>(std::min(lines.size(), static_cast<size_t>(rows_)));
    // Make room at the top, paint the lines there, then scroll them off
    // with linefeeds: the terminal's scrollback gets exactly these rows.
    scroll(0, rows_, -m, false, out);
    for (int y = 0; y < m; ++y) {
      fit(lines[static_cast<size_t>(y)], pushed_);
      paint_row(y, pushed_, out);
    }
    scroll(0, rows_, m, true, out);
    lines = lines.subspan(static_cast<size_t>(m));
  }
}

void Display::begin_paint(std::string& out) {
  painting_ = true;
  if (!cursor_visible_) return;
  out += "\x1b[?25l";
  cursor_visible_ = false;
}

void Display::scroll_if_worth_it(const Screen& frame, std::string& out) {
  // Where did the rows that changed in place come from? Each votes for the
  // shift that would bring its content back; blank rows say nothing.
  by_hash_.clear();
  for (int y = 0; y < rows_; ++y)
    if (shown_[y].known) by_hash_.emplace_back(shown_[y].hash, y);
  std::sort(by_hash_.begin(), by_hash_.end());
  votes_.assign(static_cast<size_t>(2 * rows_), 0);
  int best = 0;
  for (int y = 0; y < rows_; ++y) {
    if (same_[y]) continue;
    const Row& want = target(frame, y);
    if (looks_blank(want)) continue;
    const uint64_t h = row_hash(want);
    auto it = std::lower_bound(by_hash_.begin(), by_hash_.end(), std::pair<uint64_t, int>{h, 0});
    if (it == by_hash_.end() || it->first != h || it->second == y) continue;
    const int k = it->second - y;
    if (++votes_[k + rows_] > votes_[best + rows_]) best = k;
  }
  if (best == 0) return;
  const int k = best;

  // The band the shift covers: from the first to the last row that moves,
  // each counted by what repainting it would cost.
  int top = rows_, bottom = 0, gain = 0, moved = 0;
  const auto cost = [](const Row& r) {
    int n = static_cast<int>(r.cells.size());
    while (n > 0 && looks_blank(r.cells[n - 1])) --n;
    return n + 4;
  };
  for (int y = std::max(0, -k); y < std::min(rows_, rows_ - k); ++y) {
    if (same_[y]) continue;
    const Row& want = target(frame, y);
    const Shown& from = shown_[y + k];
    if (!from.known || !same_look(from.row, want)) continue;
    top = std::min(top, std::min(y, y + k));
    bottom = std::max(bottom, std::max(y, y + k) + 1);
    gain += cost(want);
    ++moved;
  }
  if (moved == 0) return;

  if (k > 0 && top == 0) top = 1;  // keep row 0 out of the region, and the scrollback as it is
  if (bottom - top <= std::abs(k)) return;

  // Rows that are right where they are but would be moved away.
  int loss = 0;
  for (int y = top; y < bottom; ++y) {
    if (!same_[y]) continue;
    const Row& want = target(frame, y);
    const int src = y + k;
    if (src >= top && src < bottom && shown_[src].known && same_look(shown_[src].row, want)) continue;
    loss += cost(want);
  }
  if (gain - loss <= scroll_cost) return;
  scroll(top, bottom, k, false, out);
  for (int y = top; y < bottom; ++y) same_[y] = same_look(shown_[y].row, target(frame, y));
}

void Display::scroll(int top, int bottom, int k, bool history, std::string& out) {
  begin_paint(out);
  set_pen(Pen{}, out);  // rows scrolled in take the current background
  const bool region = top != 0 || bottom != rows_;
  if (region) {
    out += "\x1b[";
    append_decimal(static_cast<unsigned>(top + 1), out);
    out += ';';
    append_decimal(static_cast<unsigned>(bottom), out);
    out += 'r';
    cx_ = cy_ = -1;  // DECSTBM homes the cursor
  }
  if (history) {
    move_to(0, bottom - 1, out);
    out.append(static_cast<size_t>(k), '\n');
  } else {
    append_csi(std::abs(k), k > 0 ? 'S' : 'T', out);
  }
  if (region) {
    out += "\x1b[r";
    cx_ = cy_ = -1;
  }

  const auto first = shown_.begin() + top, last = shown_.begin() + bottom;
  if (k > 0)
    std::rotate(first, first + k, last);
  else
    std::rotate(first, last + k, last);
  const int fresh_top = k > 0 ? bottom - k : top;
  const int fresh_bottom = k > 0 ? bottom : top - k;
  for (int y = fresh_top; y < fresh_bottom; ++y) {
    Shown& s = shown_[y];
    std::fill(s.row.cells.begin(), s.row.cells.end(), Cell{});
    s.row.marks.clear();
    s.hash = row_hash(s.row);
    s.known = true;
  }
}

void Display::paint_row(int y, const Row& want, std::string& out) {
  if (same_[y]) return;
  Shown& s = shown_[y];
  const Cell* w = want.cells.data();
  const Cell* h = s.row.cells.data();
  const bool known = s.known;
  const bool marks = !want.marks.empty() || !s.row.marks.empty();
  const auto differs = [&](int x) { return !known || w[x] != h[x] || (marks && !same_marks_at(want, s.row, x)); };
  const auto plain = [&](int x) {
    return w[x].width == 1 && w[x].ch != Cell::wide_tail && w[x].ch < 0x80 && w[x].pen().look() == pen_ &&
           (want.marks.empty() || !marks_at(want, x));
  };

  // From `tail` on, the wanted row is what EL leaves.
  int tail = cols_;
  while (tail > 0 && looks_blank(w[tail - 1])) --tail;
  if (!want.marks.empty()) tail = std::max(tail, want.marks.back().first + 1);

  int x = 0;
  for (;;) {
    while (x < tail && !differs(x)) ++x;
    if (x >= tail) break;
    // Never start on the right half of a wide character.
    if (x > 0 && (w[x].ch == Cell::wide_tail || (known && h[x].ch == Cell::wide_tail))) --x;
    begin_paint(out);
    move_to(x, y, out);
    for (;;) {
      x += write_cell(want, x, out);
      if (x >= tail) break;
      if (differs(x)) continue;
      int g = x;
      while (g < tail && g - x < max_gap && !differs(g) && pen_known_ && plain(g)) ++g;
      if (g == tail || g - x >= max_gap || !differs(g)) break;
      while (x < g) x += write_cell(want, x, out);
    }
  }

  // Clear what the terminal still shows past the tail.
  if (tail < cols_) {
    int first = tail, last = cols_ - 1;
    if (known) {
      while (first < cols_ && looks_blank(h[first]) && same_marks_at(want, s.row, first)) ++first;
      while (last >= first && looks_blank(h[last]) && same_marks_at(want, s.row, last)) --last;
    }
    if (first <= last) {
      begin_paint(out);
      move_to(first, y, out);
      set_pen(Pen{}, out);
      if (known && last - first < 3) {
        out.append(static_cast<size_t>(last - first + 1), ' ');
        cx_ = last + 1 < cols_ ? last + 1 : -1;
      } else {
        out += "\x1b[K";
      }
    }
  }

  s.row.cells = want.cells;
  s.row.marks = want.marks;
  s.hash = row_hash(want);
  s.known = true;
}

int Display::write_cell(const Row& row, int x, std::string& out) {
  const Cell& c = row.cells[x];
  set_pen(c.pen().look(), out);
  uint32_t ch = c.ch;
  int width = c.width == 2 ? 2 : 1;
  // A half character, or a wide one with no room: a blank keeps the columns right.
  if (ch == 0 || ch == Cell::wide_tail || x + width > cols_) {
    ch = ' ';
    width = 1;
  }
  append_utf8(ch, out);
  if (!row.marks.empty())
    if (const std::u32string* m = marks_at(row, x))
      for (char32_t mark : *m) append_utf8(mark, out);
  cx_ += width;
  if (cx_ >= cols_) cx_ = -1;  // the terminal may be waiting to wrap
  return width;
}

void Display::set_pen(const Pen& pen, std::string& out) {
  if (pen_known_ && pen_ == pen) return;
  sgr_full_.clear();
  append_sgr(pen, sgr_full_);
  if (pen_known_) {
    sgr_change_.clear();
    append_sgr_change(pen_, pen, sgr_change_);
    out += sgr_change_.size() < sgr_full_.size() ? sgr_change_ : sgr_full_;
  } else {
    out += sgr_full_;
  }
  pen_ = pen;
  pen_known_ = true;
}

}  // namespace roam::client
