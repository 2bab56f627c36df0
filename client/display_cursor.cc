// Display's cursor: the cheapest of CUP, relative moves and CR plus moves
// to get where the next cell goes, and the cursor's shape and visibility.
#include <algorithm>

#include "client/display.h"
#include "client/display_codes.h"

namespace roam::client {

using namespace codes;

void Display::move_to(int x, int y, std::string& out) {
  if (cx_ == x && cy_ == y) return;
  enum { cup, relative, from_cr } how = cup;
  int best = 3 + digits(static_cast<unsigned>(y + 1)) + (x > 0 ? 1 + digits(static_cast<unsigned>(x + 1)) : 0);
  const int dy = y - cy_;
  if (cy_ >= 0) {
    const int down_cost = dy > 0 ? csi_cost(dy) : 0;
    const int vertical = dy == 0 ? 0 : dy > 0 ? down_cost : csi_cost(-dy);
    if (cx_ >= 0) {
      const int dx = x - cx_;
      const int horizontal = dx == 0 ? 0 : dx > 0 ? csi_cost(dx) : std::min(-dx, csi_cost(-dx));
      if (vertical + horizontal < best) {
        best = vertical + horizontal;
        how = relative;
      }
    }
    // After a CR, plain linefeeds move down whatever ONLCR does.
    const int cr = 1 + (dy > 0 ? std::min(dy, down_cost) : vertical) + (x > 0 ? csi_cost(x) : 0);
    if (cr < best) how = from_cr;
  }
  switch (how) {
    case cup:
      out += "\x1b[";
      if (x > 0 || y > 0) append_decimal(static_cast<unsigned>(y + 1), out);
      if (x > 0) {
        out += ';';
        append_decimal(static_cast<unsigned>(x + 1), out);
      }
      out += 'H';
      break;
    case relative:
      if (dy > 0) append_csi(dy, 'B', out);
      if (dy < 0) append_csi(-dy, 'A', out);
      if (x > cx_) append_csi(x - cx_, 'C', out);
      if (x < cx_) {
        if (cx_ - x <= csi_cost(cx_ - x))
          out.append(static_cast<size_t>(cx_ - x), '\b');
        else
          append_csi(cx_ - x, 'D', out);
      }
      break;
    case from_cr:
      out += '\r';
      if (dy > 0 && dy <= csi_cost(dy))
        out.append(static_cast<size_t>(dy), '\n');
      else if (dy > 0)
        append_csi(dy, 'B', out);
      if (dy < 0) append_csi(-dy, 'A', out);
      if (x > 0) append_csi(x, 'C', out);
      break;
  }
  cx_ = x;
  cy_ = y;
}

void Display::place_cursor(const Cursor& c, bool full, std::string& out) {
  const int style = cursor_style(c);
  if (style != cursor_style(shape_) || (full && style != 0)) {
    out += "\x1b[";
    append_decimal(static_cast<unsigned>(style), out);
    out += " q";
  }
  shape_ = c;
  if (!c.visible) {
    if (cursor_visible_) out += "\x1b[?25l";
    cursor_visible_ = false;
    return;
  }
  move_to(std::min(c.x, cols_ - 1), std::min(c.y, rows_ - 1), out);
  if (!cursor_visible_) out += "\x1b[?25h";
  cursor_visible_ = true;
}

}  // namespace roam::client
