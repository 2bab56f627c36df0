// Resizing a session's terminal. Our Screen is resized (and re-wrapped)
// first; libvterm, which keeps its own cursor, saved cursor, margins and
// line attributes, is then brought in line with it.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <span>

#include "mux/terminal_impl.h"
#include "protocol/utf8.h"

namespace roam::mux {
namespace {

int ignore_rect(VTermRect, int, int, void*) { return 1; }
int ignore_glyph(VTermGlyphInfo*, VTermPos, void*) { return 1; }

}  // namespace

// While a glyph is fed again only for libvterm's sake (replay_glyph), our
// screen stays as it is: only the cursor is followed.
const VTermStateCallbacks Terminal::Impl::replay_callbacks = {
    .putglyph = ignore_glyph,
    .movecursor = on_movecursor,
    .scrollrect = ignore_rect,
    .moverect = nullptr,
    .erase = nullptr,
    .initpen = nullptr,
    .setpenattr = nullptr,
    .settermprop = nullptr,
    .bell = nullptr,
    .resize = nullptr,
    .setlineinfo = nullptr,
};

void Terminal::Impl::resize(int cols, int rows) {
  cols = std::clamp(cols, 1, Screen::max_cols);
  rows = std::clamp(rows, 1, Screen::max_rows);
  if (cols == screen.cols() && rows == screen.rows()) return;
  // A sequence libvterm is in the middle of is abandoned first.
  if (scan == Scan::esc || scan == Scan::csi || scan == Scan::csi_dropped) {
    feed(std::string_view(&CAN, 1));
    scan = Scan::ground;
  }
  // The cursor is just past the last glyph printed (or on it, the wrap to
  // come), and stays so if the glyph moves with it.
  const bool after_glyph = glyph_row >= 0 && (!screen.modes().alternate_screen || cols == screen.cols());
  GridPos saved = saved_at;
  Screen::Carried carried{pending_wrap(), saved_on_primary ? std::span<GridPos>(&saved, 1) : std::span<GridPos>{}};
  screen.resize(cols, rows, owner.on_scrollback, &carried);
  if (saved_on_primary) {
    saved_at = saved;
    saved_moved = true;
  }
  const Cursor moved = screen.cursor();
  vterm_set_size(vt.get(), rows, cols);
  // libvterm 0.1.4 keeps a scroll region whose top is past the new bottom,
  // and then scrolls by negative sizes: reset the margins, as xterm and tmux
  // do on resize. Its line attributes stay by row number while the text
  // moved: all lines become single width, as our screen shows them. Then
  // its cursor goes where ours went, after the glyph it was after.
  feed("\x1b[r\x1b[s");
  single_width_lines();
  move_cursor(moved.y, moved.x);
  if (carried.cursor_pending_wrap) {
    replay_glyph(moved.x, moved.y, true);
  } else if (after_glyph && moved.x > 0) {
    const int x = moved.x - 1;
    replay_glyph(x > 0 && screen.row(moved.y).cells[x].ch == Cell::wide_tail ? x - 1 : x, moved.y, false);
  }
}

// The cursor stands on the glyph just printed, which reached the right edge.
bool Terminal::Impl::pending_wrap() const {
  const Cursor& c = screen.cursor();
  return glyph_row >= 0 && glyph_end >= screen.cols() && c.y == glyph_row && c.x == glyph_col;
}

void Terminal::Impl::single_width_lines() {
  for (int y = 0; y < screen.rows(); ++y) {
    const VTermLineInfo* info = vterm_state_get_lineinfo(state, y);
    if (!info || (!info->doublewidth && !info->doubleheight)) continue;
    move_cursor(y, 0);
    feed("\x1b#5");  // DECSWL
  }
}

// Feeds libvterm the glyph at (x, y) again, to leave it as if it had just
// printed it there: its cursor past it, or on it with a wrap pending, and
// the glyph a combining mark that comes next joins. Our screen has it already.
void Terminal::Impl::replay_glyph(int x, int y, bool pending) {
  const Row& row = screen.row(y);
  const Cell& cell = row.cells[x];
  if (cell.ch == Cell::wide_tail || screen.cols() < 2) return;
  std::array<char, 4 * (Screen::max_marks + 1)> text;
  char* end = put_utf8(text.data(), cell.ch == 0 ? ' ' : cell.ch);
  for (const auto& [col, marks] : row.marks)
    if (col == x)
      for (char32_t m : marks)
        if (end + 4 <= text.data() + text.size()) end = put_utf8(end, m);
  const Pen kept = pen;  // setting the callbacks runs initpen
  vterm_state_set_callbacks(state, &replay_callbacks, this);
  move_cursor(y, x);
  feed(std::string_view(text.data(), static_cast<size_t>(end - text.data())));
  vterm_state_set_callbacks(state, &state_callbacks, this);
  pen = kept;
  VTermPos pos;
  vterm_state_get_cursorpos(state, &pos);
  const int after = pending ? x : x + cell.width;
  if (pos.row != y || pos.col != after) {
    // libvterm saw it differently (a width of its own): back to our cursor.
    move_cursor(y, std::min(after, screen.cols() - 1));
    return;
  }
  glyph_row = y;
  glyph_col = x;
  glyph_end = x + cell.width;
}

void Terminal::Impl::move_cursor(int row, int col) {
  std::array<char, 32> buf;
  auto end = fmt::format_to_n(buf.data(), buf.size(), "\x1b[{};{}H", row + 1, col + 1).out;
  feed(std::string_view(buf.data(), static_cast<size_t>(end - buf.data())));
}

// Our screen is resized before libvterm (Impl::resize), which then gets its
// cursor from ours.
int Terminal::Impl::on_resize(int, int, VTermPos*, void* user) {
  static_cast<Impl*>(user)->glyph_row = -1;
  return 1;
}

}  // namespace roam::mux
