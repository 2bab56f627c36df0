#include "protocol/screen.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "protocol/utf8.h"

namespace roam {
namespace {

using Mark = std::pair<uint16_t, std::u32string>;

bool is_blank(const Row& r) { return r.marks.empty() && used_cells(r) == 0; }

template <class Marks>
auto first_mark_at_or_after(Marks& marks, int x) {
  return std::lower_bound(marks.begin(), marks.end(), x, [](const Mark& m, int col) { return m.first < col; });
}

// Drops the marks of columns [left, right).
bool remove_marks(Row& r, int left, int right) {
  if (r.marks.empty()) return false;
  auto first = first_mark_at_or_after(r.marks, left);
  auto last = first_mark_at_or_after(r.marks, right);
  if (first == last) return false;
  r.marks.erase(first, last);
  return true;
}

// Sets column x's marks to the 0-terminated `marks` (at most max_marks kept).
bool set_marks(Row& r, int x, const uint32_t* marks) {
  size_t n = 0;
  while (n < Screen::max_marks && marks[n] != 0) ++n;
  auto it = first_mark_at_or_after(r.marks, x);
  if (it != r.marks.end() && it->first == x) {
    std::u32string& have = it->second;
    if (have.size() == n && std::equal(have.begin(), have.end(), marks)) return false;
    have.assign(marks, marks + n);
    return true;
  }
  r.marks.insert(it, Mark{static_cast<uint16_t>(x), std::u32string(marks, marks + n)});
  return true;
}

// Makes cells x-1 and x either one whole wide character or no part of one:
// a half left alone becomes a blank cell that keeps its background.
bool repair_boundary(Row& r, int x) {
  std::vector<Cell>& c = r.cells;
  const int n = static_cast<int>(c.size());
  auto blank = [&](int i) {
    Cell b;
    b.bg = c[i].bg;
    c[i] = b;
    remove_marks(r, i, i + 1);
  };
  if (x > 0 && x <= n && c[x - 1].width == 2 && (x == n || c[x].ch != Cell::wide_tail)) {
    blank(x - 1);
    return true;
  }
  if (x >= 0 && x < n && c[x].ch == Cell::wide_tail && (x == 0 || c[x - 1].width != 2)) {
    blank(x);
    return true;
  }
  return false;
}

// Copies the marks of src's columns [sl, sl + w) to dst's [dl, dl + w);
// src and dst may be the same row.
void move_marks(Row& dst, int dl, const Row& src, int sl, int w) {
  std::vector<Mark> moved;
  for (const Mark& m : src.marks)
    if (m.first >= sl && m.first < sl + w) moved.emplace_back(static_cast<uint16_t>(m.first - sl + dl), m.second);
  remove_marks(dst, dl, dl + w);
  for (Mark& m : moved) dst.marks.insert(first_mark_at_or_after(dst.marks, m.first), std::move(m));
}

bool is_base64(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
  });
}

// Places on a grid that lost `lost` rows off its top, kept on it.
void shift_places(std::span<GridPos> places, int lost, int cols, int rows) {
  for (GridPos& p : places) {
    p.y -= lost;
    if (p.y >= 0 && p.y < rows && p.x < cols) continue;
    p.y = std::clamp(p.y, 0, rows - 1);
    p.x = std::clamp(p.x, 0, cols - 1);
    p.pending_wrap = false;
  }
}

}  // namespace

namespace {

// Rows no screen uses any more, kept for the next copy on write: in steady
// state (a frame, then its acknowledgement), rows go round and nothing is
// allocated. Bounded by cells (4 MB of them), so a huge screen's rows are
// freed when it goes rather than held for the life of the daemon.
constexpr size_t max_pooled_cells = size_t{1} << 18;

// A thread's pool goes before static objects do; a screen destroyed after it
// (a static one, at exit) frees its rows instead. `pool_gone` is trivially
// destructible, so it stays readable to the end.
thread_local bool pool_gone = false;
struct RowPool {
  std::vector<std::shared_ptr<Row>> rows;
  size_t cells = 0;
  ~RowPool() { pool_gone = true; }
};
thread_local RowPool pool;

// Keeps `row` for reuse if nothing else holds it and there is room.
void give_back(std::shared_ptr<Row>& row) {
  if (!pool_gone && row.use_count() == 1 && pool.cells + row->cells.capacity() <= max_pooled_cells) {
    pool.cells += row->cells.capacity();
    pool.rows.push_back(std::move(row));
  }
  row.reset();
}

}  // namespace

std::shared_ptr<Row> Screen::pooled_row() {
  if (pool_gone || pool.rows.empty()) return std::make_shared<Row>();
  std::shared_ptr<Row> r = std::move(pool.rows.back());
  pool.rows.pop_back();
  pool.cells -= r->cells.capacity();
  return r;
}

void Screen::copy_row(Line& l) {
  std::shared_ptr<Row> own = pooled_row();
  *own = *l.row;  // assignment: reuses the pooled row's storage
  l.row = std::move(own);
}

void Screen::recycle(std::vector<Line>& lines) {
  for (Line& l : lines) give_back(l.row);
}

Screen::~Screen() {
  recycle(active_.lines);
  recycle(hidden_.lines);
}

Screen& Screen::operator=(const Screen& o) {
  if (this == &o) return *this;
  auto assign = [](Grid& to, const Grid& from) {
    if (to.lines.size() == from.lines.size()) {
      // Row by row, keeping the vector: a row only we held goes to the pool.
      for (size_t i = 0; i < to.lines.size(); ++i) {
        Line& l = to.lines[i];
        if (l.row != from.lines[i].row) give_back(l.row);
        l = from.lines[i];
      }
    } else {
      recycle(to.lines);
      to.lines = from.lines;
    }
    to.origin = from.origin;
  };
  assign(active_, o.active_);
  assign(hidden_, o.hidden_);
  cols_ = o.cols_;
  rows_ = o.rows_;
  cursor_ = o.cursor_;
  modes_ = o.modes_;
  title_ = o.title_;
  icon_name_ = o.icon_name_;
  bell_count_ = o.bell_count_;
  clipboard_ = o.clipboard_;
  return *this;
}

Screen& Screen::operator=(Screen&& o) noexcept {
  if (this == &o) return *this;
  recycle(active_.lines);
  recycle(hidden_.lines);
  cols_ = o.cols_;
  rows_ = o.rows_;
  active_ = std::move(o.active_);
  hidden_ = std::move(o.hidden_);
  cursor_ = o.cursor_;
  modes_ = o.modes_;
  title_ = std::move(o.title_);
  icon_name_ = std::move(o.icon_name_);
  bell_count_ = o.bell_count_;
  clipboard_ = std::move(o.clipboard_);
  return *this;
}

bool Screen::same_versions(const Screen& o) const {
  if (cols_ != o.cols_ || rows_ != o.rows_ || cursor_ != o.cursor_ || modes_ != o.modes_ || title_ != o.title_ ||
      icon_name_ != o.icon_name_ || bell_count_ != o.bell_count_ || clipboard_ != o.clipboard_)
    return false;
  for (int y = 0; y < rows_; ++y)
    if (line(y).version != o.line(y).version && line(y).row != o.line(y).row) return false;
  return true;
}

size_t Screen::held_bytes() const {
  size_t total = 0;
  for (const Grid* g : {&active_, &hidden_})
    for (const Line& l : g->lines) {
      const Row& r = *l.row;
      size_t bytes = sizeof(Row) + r.cells.capacity() * sizeof(Cell);
      for (const auto& m : r.marks) bytes += sizeof m + m.second.capacity() * sizeof(char32_t);
      total += bytes / static_cast<size_t>(std::max<long>(1, l.row.use_count()));
    }
  return total;
}

Screen::Screen(int cols, int rows)
    : cols_(std::clamp(cols, 1, max_cols)), rows_(std::clamp(rows, 1, max_rows)), active_(make_grid()) {}

Screen::Grid Screen::make_grid() {
  Grid g;
  g.lines.resize(rows_);
  for (Line& l : g.lines) {
    fresh(l).cells.assign(cols_, Cell{});
    touch(l);
  }
  return g;
}

void Screen::put_any(int x, int y, const uint32_t* chars, int width, const Pen& pen) {
  if (x < 0 || x >= cols_ || y < 0 || y >= rows_) return;
  width = (width == 2 && x + 1 < cols_) ? 2 : 1;
  Line& l = line(y);
  Row& row = edit(l);
  Cell* c = row.cells.data();
  bool changed = false;
  const Cell head{chars[0], pen.fg, pen.bg, pen.attrs, static_cast<uint8_t>(width), pen.ul};
  if (c[x] != head) {
    c[x] = head;
    changed = true;
  }
  if (width == 2) {
    const Cell tail{Cell::wide_tail, pen.fg, pen.bg, pen.attrs, 1, pen.ul};
    if (c[x + 1] != tail) {
      c[x + 1] = tail;
      changed = true;
    }
  }
  changed |= repair_boundary(row, x);
  changed |= repair_boundary(row, x + width);
  if (chars[0] != 0 && chars[1] != 0)
    changed |= set_marks(row, x, chars + 1);
  else
    changed |= remove_marks(row, x, x + width);
  if (changed) touch(l);
}

void Screen::erase(Rect r, Color bg) {
  r.top = std::max(r.top, 0);
  r.left = std::max(r.left, 0);
  r.bottom = std::min(r.bottom, rows_);
  r.right = std::min(r.right, cols_);
  if (r.top >= r.bottom || r.left >= r.right) return;
  Cell blank;
  blank.bg = bg;
  for (int y = r.top; y < r.bottom; ++y) {
    Line& l = line(y);
    // A row shared with other copies is made ours only if it changes; a
    // blank range has whole wide characters on both sides already.
    const Row& shown = *l.row;
    const bool same = std::all_of(shown.cells.begin() + r.left, shown.cells.begin() + r.right,
                                  [&](const Cell& c) { return c == blank; }) &&
                      first_mark_at_or_after(shown.marks, r.left) == first_mark_at_or_after(shown.marks, r.right) &&
                      !(r.right == cols_ && shown.wrapped);
    if (same) continue;
    Row& row = edit(l);
    std::fill(row.cells.begin() + r.left, row.cells.begin() + r.right, blank);
    repair_boundary(row, r.left);
    repair_boundary(row, r.right);
    remove_marks(row, r.left, r.right);
    // The row no longer runs to its end, so it no longer flows into the next.
    if (r.right == cols_) row.wrapped = false;
    touch(l);
  }
}

void Screen::clear_line(Line& l, Color bg) {
  // Doubling copies: memcpy speed, where a plain fill stores field by field.
  Row& row = fresh(l);
  const size_t n = static_cast<size_t>(cols_);
  row.cells.resize(n);
  Cell* c = row.cells.data();
  c[0] = Cell{};
  c[0].bg = bg;
  for (size_t done = 1; done < n; done *= 2) std::copy_n(c, std::min(done, n - done), c + done);
  row.marks.clear();
  row.wrapped = false;
  touch(l);
}

void Screen::scroll_lines(int top, int bottom, int dy, Color bg) {
  const int n = std::min(std::abs(dy), bottom - top);
  if (n == 0) return;
  if (top == 0 && bottom == rows_) {
    // The whole screen: turn the ring, recycling the rows that leave.
    for (int i = 0; i < n; ++i) {
      if (dy < 0) {
        clear_line(line(0), bg);
        active_.origin = active_.origin + 1 == rows_ ? 0 : active_.origin + 1;
      } else {
        active_.origin = active_.origin == 0 ? rows_ - 1 : active_.origin - 1;
        clear_line(line(0), bg);
      }
    }
    return;
  }
  // A band of rows: swap row objects (a few pointers each), never cells.
  if (dy < 0) {
    for (int y = top; y + n < bottom; ++y) std::swap(line(y), line(y + n));
    for (int y = bottom - n; y < bottom; ++y) clear_line(line(y), bg);
  } else {
    for (int y = bottom - 1; y - n >= top; --y) std::swap(line(y), line(y - n));
    for (int y = top; y < top + n; ++y) clear_line(line(y), bg);
  }
}

void Screen::scroll(Rect r, int dy, int dx, Color bg) {
  r.top = std::max(r.top, 0);
  r.left = std::max(r.left, 0);
  r.bottom = std::min(r.bottom, rows_);
  r.right = std::min(r.right, cols_);
  const int h = r.bottom - r.top, w = r.right - r.left;
  if (h <= 0 || w <= 0) return;
  dy = std::clamp(dy, -h, h);
  dx = std::clamp(dx, -w, w);
  if (dx == 0 && r.left == 0 && r.right == cols_) {
    scroll_lines(r.top, r.bottom, dy, bg);
    return;
  }
  Rect src = r, dest = r;
  if (dy < 0) {
    src.top -= dy;
    dest.bottom += dy;
  } else {
    src.bottom -= dy;
    dest.top += dy;
  }
  if (dx < 0) {
    src.left -= dx;
    dest.right += dx;
  } else {
    src.right -= dx;
    dest.left += dx;
  }
  move(dest, src);
  if (dy < 0) erase({r.bottom + dy, r.left, r.bottom, r.right}, bg);
  if (dy > 0) erase({r.top, r.left, r.top + dy, r.right}, bg);
  if (dx < 0) erase({r.top, r.right + dx, r.bottom, r.right}, bg);
  if (dx > 0) erase({r.top, r.left, r.bottom, r.left + dx}, bg);
}

void Screen::move(Rect dest, Rect src) {
  const int dy = dest.top - src.top, dx = dest.left - src.left;
  // Clip the source to the screen and to what lands on it.
  src.bottom = std::min(src.top + (dest.bottom - dest.top), src.bottom);
  src.right = std::min(src.left + (dest.right - dest.left), src.right);
  src.top = std::max({src.top, 0, -dy});
  src.left = std::max({src.left, 0, -dx});
  src.bottom = std::min({src.bottom, rows_, rows_ - dy});
  src.right = std::min({src.right, cols_, cols_ - dx});
  const int h = src.bottom - src.top, w = src.right - src.left;
  if (h <= 0 || w <= 0 || (dy == 0 && dx == 0)) return;
  // Walk rows so a source row is read before anything overwrites it.
  for (int i = 0; i < h; ++i) {
    const int sy = dy > 0 ? src.bottom - 1 - i : src.top + i;
    Line& s = line(sy);
    Line& d = line(sy + dy);
    Row& dr = edit(d);  // first: s may be d
    const Row& sr = *s.row;
    const Cell* from = sr.cells.data() + src.left;
    Cell* to = dr.cells.data() + src.left + dx;
    if (to < from)
      std::copy(from, from + w, to);
    else
      std::copy_backward(from, from + w, to + w);
    if (!sr.marks.empty() || !dr.marks.empty()) move_marks(dr, src.left + dx, sr, src.left, w);
    repair_boundary(dr, src.left + dx);
    repair_boundary(dr, src.right + dx);
    touch(d);
  }
}

void Screen::set_wrapped(int y, bool wrapped) {
  if (y < 0 || y >= rows_) return;
  Line& l = line(y);
  if (l.row->wrapped == wrapped) return;
  edit(l).wrapped = wrapped;
  touch(l);
}

void Screen::set_row(int y, const Row& row) {
  if (y < 0 || y >= rows_) return;
  Line& l = line(y);
  Row& to = fresh(l);
  const size_t n = std::min(row.cells.size(), static_cast<size_t>(cols_));
  to.cells.assign(row.cells.begin(), row.cells.begin() + static_cast<std::ptrdiff_t>(n));
  to.cells.resize(cols_, Cell{});
  to.marks.clear();
  for (const Mark& m : row.marks)
    if (m.first < cols_ && !m.second.empty()) to.marks.push_back(m);
  std::sort(to.marks.begin(), to.marks.end(), [](const Mark& a, const Mark& b) { return a.first < b.first; });
  to.wrapped = row.wrapped;
  for (int x = 0; x <= cols_; ++x) repair_boundary(to, x);
  touch(l);
}

int Screen::resize_grid(Grid& g, int cols, int rows, int keep_row,
                        const std::function<void(const Row&)>* scrolled_off) {
  std::rotate(g.lines.begin(), g.lines.begin() + g.origin, g.lines.end());
  g.origin = 0;
  int lost = 0;
  const int old_rows = static_cast<int>(g.lines.size());
  if (rows < old_rows) {
    int excess = old_rows - rows;
    if (keep_row < 0) {
      // A hidden grid has no cursor: keep everything down to its last text.
      keep_row = old_rows - 1;
      while (keep_row >= 0 && is_blank(*g.lines[keep_row].row)) --keep_row;
    }
    while (excess > 0 && static_cast<int>(g.lines.size()) - 1 > keep_row && is_blank(*g.lines.back().row)) {
      g.lines.pop_back();
      --excess;
    }
    // Off the top, but never the cursor's row itself; what is still too
    // much comes off the bottom.
    lost = std::min(excess, std::max(keep_row, 0));
    if (scrolled_off && *scrolled_off)
      for (int i = 0; i < lost; ++i) (*scrolled_off)(*g.lines[i].row);
    g.lines.erase(g.lines.begin(), g.lines.begin() + lost);
  }
  g.lines.resize(rows);
  for (Line& l : g.lines) {
    Row& row = l.row ? edit(l) : fresh(l);
    row.cells.resize(cols, Cell{});
    remove_marks(row, cols, 1 << 16);
    repair_boundary(row, cols);
    touch(l);
  }
  return lost;
}

int Screen::reflow_grid(Grid& g, int cols, int rows, GridPos* cursor, std::span<GridPos> places,
                        const std::function<void(const Row&)>* scrolled_off) {
  std::rotate(g.lines.begin(), g.lines.begin() + g.origin, g.lines.end());
  g.origin = 0;
  std::vector<Row> old;
  old.reserve(g.lines.size());
  for (Line& l : g.lines) old.push_back(l.row.use_count() == 1 ? std::move(*l.row) : *l.row);
  std::vector<GridPos> at;  // the cursor first, if any, then the other places
  at.reserve(places.size() + 1);
  if (cursor) at.push_back(*cursor);
  at.insert(at.end(), places.begin(), places.end());
  const Reflow plan(old, cols, at);
  const int total = plan.size();
  // A grid without a cursor keeps everything down to its last text.
  const int keep_row = cursor ? at[0].y : total - plan.blank_at_end() - 1;
  int excess = total - rows;
  int lost = 0;
  if (excess > 0) {
    excess -= std::min({excess, plan.blank_at_end(), total - 1 - keep_row});
    lost = std::min(excess, std::max(keep_row, 0));
  }
  if (scrolled_off && *scrolled_off) plan.write(0, lost, [&](Row& r) { (*scrolled_off)(r); });
  std::vector<Line> lines(static_cast<size_t>(rows));
  size_t y = 0;
  plan.write(lost, lost + rows, [&](Row& r) { fresh(lines[y++]) = std::move(r); });
  for (; y < lines.size(); ++y) fresh(lines[y]).cells.assign(static_cast<size_t>(cols), Cell{});
  for (Line& l : lines) touch(l);
  g.lines = std::move(lines);
  shift_places(at, lost, cols, rows);
  if (cursor) *cursor = at[0];
  std::copy(at.begin() + (cursor ? 1 : 0), at.end(), places.begin());
  return lost;
}

int Screen::resize(int cols, int rows, const std::function<void(const Row&)>& scrolled_off, Carried* carried) {
  cols = std::clamp(cols, 1, max_cols);
  rows = std::clamp(rows, 1, max_rows);
  const bool primary_shown = !modes_.alternate_screen;
  const bool reflow = cols != cols_;
  const std::span<GridPos> places = carried ? carried->primary_places : std::span<GridPos>{};
  bool pending = carried && carried->cursor_pending_wrap;
  int lost = 0;
  if (primary_shown && reflow) {
    GridPos c{cursor_.x, cursor_.y, pending};
    lost = reflow_grid(active_, cols, rows, &c, places, &scrolled_off);
    cursor_.x = c.x;
    cursor_.y = c.y;
    pending = c.pending_wrap;
  } else {
    lost = resize_grid(active_, cols, rows, cursor_.y, primary_shown ? &scrolled_off : nullptr);
    cursor_.x = std::clamp(cursor_.x, 0, cols - 1);
    cursor_.y = std::clamp(cursor_.y - lost, 0, rows - 1);
    // Columns cut or added: the cursor is no longer at the edge it reached.
    pending = pending && !reflow;
    if (primary_shown) shift_places(places, lost, cols, rows);
  }
  if (primary_shown && !hidden_.lines.empty()) {
    resize_grid(hidden_, cols, rows, -1, nullptr);
  } else if (!primary_shown) {
    if (reflow)
      reflow_grid(hidden_, cols, rows, nullptr, places, &scrolled_off);
    else
      shift_places(places, resize_grid(hidden_, cols, rows, -1, &scrolled_off), cols, rows);
  }
  cols_ = cols;
  rows_ = rows;
  if (carried) carried->cursor_pending_wrap = pending;
  return lost;
}

void Screen::set_cursor(const Cursor& c) {
  cursor_ = c;
  cursor_.x = std::clamp(c.x, 0, cols_ - 1);
  cursor_.y = std::clamp(c.y, 0, rows_ - 1);
}

void Screen::set_modes(const Modes& m) {
  if (m.alternate_screen != modes_.alternate_screen) {
    if (hidden_.lines.empty()) hidden_ = make_grid();
    std::swap(active_, hidden_);
    // What shows at each row changed, though no row moved or was written.
    for (int y = 0; y < rows_; ++y) touch(line(y));
  }
  modes_ = m;
}

void Screen::set_title(std::string_view title) {
  title_.clear();
  append_printable(title, title_, max_title);
}

void Screen::set_icon_name(std::string_view name) {
  icon_name_.clear();
  append_printable(name, icon_name_, max_title);
}

bool Screen::set_clipboard(std::string_view selection, std::string_view base64) {
  return set_clipboard(selection, base64, clipboard_.serial + 1);
}

bool Screen::set_clipboard(std::string_view selection, std::string_view base64, uint32_t serial) {
  if (base64.size() > max_clipboard || !is_base64(base64)) return false;
  if (selection.size() > 16 || selection.find_first_not_of("cpqs01234567") != std::string_view::npos) return false;
  clipboard_.selection = selection.empty() ? "s0" : selection;
  clipboard_.base64 = base64;
  clipboard_.serial = serial;
  return true;
}

bool operator==(const Screen& a, const Screen& b) {
  if (a.cols_ != b.cols_ || a.rows_ != b.rows_ || a.cursor_ != b.cursor_ || a.modes_ != b.modes_ ||
      a.title_ != b.title_ || a.icon_name_ != b.icon_name_ || a.bell_count_ != b.bell_count_ ||
      a.clipboard_ != b.clipboard_)
    return false;
  for (int y = 0; y < a.rows_; ++y)
    if (a.line(y).row != b.line(y).row && a.row(y) != b.row(y)) return false;
  return true;
}

}  // namespace roam
