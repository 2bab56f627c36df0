#include "client/pager.h"

#include <fmt/format.h>

#include <algorithm>

#include "protocol/sgr.h"
#include "protocol/utf8.h"

namespace roam::client {

namespace {

// Lines copied with one y at most: OSC 52 is not meant for more.
constexpr uint64_t max_copy_lines = 10'000;
constexpr int wheel_lines = 3;

std::string utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) append_utf8(static_cast<uint32_t>(c), out);
  return out;
}

void put_text(Row& row, int x, std::string_view text, uint16_t attrs) {
  for (size_t i = 0; i < text.size() && x < static_cast<int>(row.cells.size());)
    row.cells[static_cast<size_t>(x++)] = Cell{static_cast<uint32_t>(next_utf8(text, i)), {}, {}, attrs, 1};
}

}  // namespace

Pager::Pager(const Screen& screen, uint64_t begin, uint64_t end, int cols, int rows, HistoryCache& cache,
             PagerSearch::Request search)
    : cache_(cache),
      search_(std::move(search), begin, end, &screen_rows_),
      begin_(std::min(begin, end)),
      end_(end),
      cols_(cols),
      rows_(rows),
      frame_(screen) {
  // The screen's rows down to the cursor or the last that is not blank.
  int last = screen.cursor().y;
  for (int y = screen.rows() - 1; y > last; --y)
    if (!looks_blank(screen.row(y))) {
      last = y;
      break;
    }
  for (int y = 0; y <= last; ++y) screen_rows_.push_back(screen.row(y));
  frame_.resize(cols, rows);
  Modes m;
  m.alternate_screen = screen.modes().alternate_screen;  // no grid swap: every row is ours anyway
  m.mouse_tracking = MouseTracking::click;                // for the wheel
  m.mouse_encoding = MouseEncoding::sgr;
  frame_.set_modes(m);
  cursor_ = end_ + static_cast<uint64_t>(std::max(0, screen.cursor().y));
  place(std::min(cursor_, total() - 1));
  top_ = std::max(begin_, total() - std::min(total(), static_cast<uint64_t>(page())));
}

const Row* Pager::line(uint64_t n) const {
  if (n >= end_) return n < total() ? &screen_rows_[n - end_] : nullptr;
  return cache_.find(n);
}

void Pager::set_begin(uint64_t begin) {
  begin_ = std::clamp(begin, begin_, end_);
  search_.set_begin(begin);
  if (cursor_ < begin_) place(begin_);
  top_ = std::max(top_, begin_);
}

void Pager::resize(int cols, int rows) {
  cols_ = cols;
  rows_ = rows;
  frame_.resize(cols, rows);
  place(cursor_);
}

void Pager::place(uint64_t n) {
  cursor_ = std::clamp(n, begin_, total() - 1);
  const uint64_t p = static_cast<uint64_t>(page());
  if (cursor_ >= top_ && cursor_ < top_ + p) return;
  const uint64_t max_top = std::max(begin_, total() - std::min(total(), p));
  top_ = std::clamp(cursor_ - std::min(cursor_, p / 3), begin_, max_top);
}

void Pager::move_cursor(int64_t by) {
  const int64_t want = static_cast<int64_t>(cursor_) + by;
  cursor_ = static_cast<uint64_t>(std::clamp(want, static_cast<int64_t>(begin_), static_cast<int64_t>(total() - 1)));
  const uint64_t p = static_cast<uint64_t>(page());
  if (cursor_ < top_) top_ = cursor_;
  if (cursor_ >= top_ + p) top_ = cursor_ - p + 1;
}

void Pager::scroll_view(int64_t by) {
  const uint64_t p = static_cast<uint64_t>(page());
  const int64_t max_top = static_cast<int64_t>(std::max(begin_, total() - std::min(total(), p)));
  top_ = static_cast<uint64_t>(std::clamp(static_cast<int64_t>(top_) + by, static_cast<int64_t>(begin_), max_top));
  const int64_t moved = static_cast<int64_t>(cursor_) + by;
  cursor_ = static_cast<uint64_t>(std::clamp(moved, static_cast<int64_t>(top_),
                                             static_cast<int64_t>(std::min(top_ + p, total()) - 1)));
}

bool Pager::keys(std::string_view bytes) {
  for (const Key& k : parse_keys(bytes)) {
    if (prompt_)
      prompt_key(k);
    else
      key(k);
    if (!open_) return false;
  }
  show_search_result();
  return true;
}

void Pager::take(const HistoryReply& reply) {
  search_.take(reply);
  show_search_result();
}

void Pager::show_search_result() {
  if (placed_result_) return;
  const auto found = search_.result();
  if (!found) return;
  placed_result_ = true;
  if (found->line) {
    place(*found->line);
    message_ = found->wrapped ? "search wrapped around" : "";
  } else {
    message_ = fmt::format("not found: {}", utf8(last_needle_));
  }
}

void Pager::key(const Key& k) {
  using K = Key::Kind;
  const int64_t p = page();
  message_.clear();
  switch (k.kind) {
    case K::escape: open_ = false; return;
    case K::down:
    case K::enter: move_cursor(1); return;
    case K::up: move_cursor(-1); return;
    case K::page_down: scroll_view(p); return;
    case K::page_up: scroll_view(-p); return;
    case K::home: place(begin_); return;
    case K::end: place(total() - 1); return;
    case K::wheel_up: scroll_view(-wheel_lines); return;
    case K::wheel_down: scroll_view(wheel_lines); return;
    case K::text: break;
    default: return;
  }
  switch (k.ch) {
    case 'q': open_ = false; break;
    case 'j': case 0x0e: move_cursor(1); break;                 // Ctrl-N
    case 'k': case 0x10: move_cursor(-1); break;                // Ctrl-P
    case 'f': case ' ': case 0x06: scroll_view(p); break;       // Ctrl-F
    case 'b': case 0x02: scroll_view(-p); break;                // Ctrl-B
    case 0x04: scroll_view(std::max<int64_t>(1, p / 2)); break;   // Ctrl-D
    case 0x15: scroll_view(-std::max<int64_t>(1, p / 2)); break;  // Ctrl-U
    case 'g': case '<': place(begin_); break;
    case 'G': case '>': place(total() - 1); break;
    case '/': case '?':
      prompt_.emplace();
      prompt_backward_ = k.ch == '?';
      break;
    case 'n': begin_search(last_backward_); break;
    case 'N': begin_search(!last_backward_); break;
    case 'v':
      if (mark_) mark_.reset();
      else mark_ = cursor_;
      break;
    case 'y': copy(); break;
    default: break;
  }
}

void Pager::prompt_key(const Key& k) {
  using K = Key::Kind;
  if (k.kind == K::escape || (k.kind == K::text && (k.ch == 0x03 || k.ch == 0x07))) {  // Esc, Ctrl-C, Ctrl-G
    prompt_.reset();
  } else if (k.kind == K::backspace) {
    if (prompt_->empty()) prompt_.reset();
    else prompt_->pop_back();
  } else if (k.kind == K::enter) {
    if (!prompt_->empty()) {
      last_needle_ = *prompt_;
      last_backward_ = prompt_backward_;
    }
    prompt_.reset();
    begin_search(last_backward_);
  } else if (k.kind == K::text && k.ch >= 0x20 && prompt_->size() < 256) {
    prompt_->push_back(k.ch);
  }
}

void Pager::begin_search(bool backward) {
  if (last_needle_.empty()) {
    message_ = "no search yet: / or ? starts one";
    return;
  }
  // From the line after the current one, in the search's direction.
  const uint64_t from = backward ? (cursor_ > begin_ ? cursor_ - 1 : total() - 1)
                                 : (cursor_ + 1 < total() ? cursor_ + 1 : begin_);
  placed_result_ = false;
  search_.start(last_needle_, backward, from);
  show_search_result();
}

void Pager::copy() {
  const uint64_t first = mark_ ? std::min(*mark_, cursor_) : cursor_;
  const uint64_t last = std::min(mark_ ? std::max(*mark_, cursor_) : cursor_, first + max_copy_lines - 1);
  mark_.reset();
  copy_wanted_ = {first, last};
  cache_.want(first, std::min(last + 1, end_));
}

std::optional<std::string> Pager::take_copy() {
  if (!copy_wanted_) return std::nullopt;
  const auto [first, last] = *copy_wanted_;
  for (uint64_t n = std::max(first, begin_); n <= last; ++n)
    if (!line(n)) return std::nullopt;
  copy_wanted_.reset();
  std::string text;
  for (uint64_t n = std::max(first, begin_); n <= last; ++n) {
    if (n > first) text += '\n';
    append_row_text(*line(n), false, text);
  }
  message_ = last == first ? "copied 1 line" : fmt::format("copied {} lines", last - first + 1);
  return text;
}

const Screen& Pager::render() {
  const uint64_t p = static_cast<uint64_t>(page());
  cache_.focus(top_);
  // The view first, then two pages after it and one before: paging on is
  // instant. The server answers in order.
  cache_.want(top_, std::min(end_, top_ + p), true);
  cache_.want(top_ + p, std::min(end_, top_ + 3 * p));
  cache_.want(top_ - std::min(top_ - begin_, p), std::min(end_, top_));
  const bool case_sensitive = search_.case_sensitive();
  bool missing = false;
  Row row;
  for (int y = 0; y < rows_ - 1; ++y) {
    const uint64_t n = top_ + static_cast<uint64_t>(y);
    row.cells.assign(static_cast<size_t>(cols_), Cell{});
    row.marks.clear();
    row.wrapped = false;
    if (n < total()) {
      if (const Row* src = line(n)) {
        // Padded to the width so a marked line is reversed whole; set_row
        // below cuts what is wider.
        row = *src;
        row.cells.resize(std::max(row.cells.size(), static_cast<size_t>(cols_)));
        for (auto [from, to] : find_in_row(row, last_needle_, case_sensitive))
          for (int x = from; x < to; ++x) row.cells[static_cast<size_t>(x)].attrs ^= attr_reverse;
        const bool marked = mark_ && n >= std::min(*mark_, cursor_) && n <= std::max(*mark_, cursor_);
        if (marked)
          for (Cell& c : row.cells) c.attrs ^= attr_reverse;
      } else {
        missing = true;
        put_text(row, 0, "\u2026", attr_faint);
      }
    } else {
      put_text(row, 0, "~", attr_faint);
    }
    frame_.set_row(y, row);
  }
  // The status line.
  row.cells.assign(static_cast<size_t>(cols_), Cell{0, {}, {}, attr_reverse, 1});
  row.marks.clear();
  std::string left;
  if (prompt_) {
    left = (prompt_backward_ ? "?" : "/") + utf8(*prompt_);
  } else {
    left = fmt::format(" line {} of {}", cursor_ + 1, total());
    // Line numbers count from the first line ever printed; the limit dropped the oldest.
    if (begin_ > 0) left += fmt::format(", {} older lines dropped", begin_);
    if (!last_needle_.empty()) left += fmt::format("  {}{}", last_backward_ ? '?' : '/', utf8(last_needle_));
    if (search_.searching()) left += "  searching\u2026";
    else if (!message_.empty()) left += "  " + message_;
    else if (missing) left += "  loading\u2026";
    if (mark_) left += "  (marking: y copies)";
  }
  put_text(row, 0, left, attr_reverse);
  const std::string help = "q quit  / ? search  n N next  v y copy ";
  const int free = cols_ - static_cast<int>(left.size());
  if (!prompt_ && free > static_cast<int>(help.size()) + 2) put_text(row, cols_ - static_cast<int>(help.size()), help, attr_reverse);
  frame_.set_row(rows_ - 1, row);
  Cursor c;
  c.x = prompt_ ? static_cast<int>(prompt_->size()) + 1 : 0;
  c.y = prompt_ ? rows_ - 1 : static_cast<int>(cursor_ - top_);
  c.blink = false;
  frame_.set_cursor(c);
  return frame_;
}

}  // namespace roam::client
