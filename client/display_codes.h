// The escape sequences Display writes, with their lengths where the cursor
// cost model weighs them. Internal to display*.cc.
#pragma once

#include <string>
#include <string_view>

#include "protocol/screen.h"
#include "protocol/sgr.h"
#include "protocol/utf8.h"

namespace roam::client::codes {

inline int digits(unsigned v) {
  int n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

// CSI n X, with n left out when it is 1 (the default of every use here).
inline int csi_cost(int n) { return n == 1 ? 3 : 3 + digits(static_cast<unsigned>(n)); }
inline void append_csi(int n, char final, std::string& out) {
  out += "\x1b[";
  if (n != 1) append_decimal(static_cast<unsigned>(n), out);
  out += final;
}

inline void append_osc(int n, std::string_view text, std::string& out) {
  out += "\x1b]";
  append_decimal(static_cast<unsigned>(n), out);
  out += ';';
  // Nothing in it may end the sequence early or start another.
  append_printable(text, out);
  out += '\a';
}

inline int mouse_mode(MouseTracking t) {
  switch (t) {
    case MouseTracking::none: return 0;
    case MouseTracking::click: return 1000;
    case MouseTracking::drag: return 1002;
    case MouseTracking::motion: return 1003;
  }
  return 0;
}

inline int mouse_mode(MouseEncoding e) {
  switch (e) {
    case MouseEncoding::x10: return 0;
    case MouseEncoding::utf8: return 1005;
    case MouseEncoding::sgr: return 1006;
    case MouseEncoding::urxvt: return 1015;
  }
  return 0;
}

inline void append_decset(int mode, bool on, std::string& out) {
  out += "\x1b[?";
  append_decimal(static_cast<unsigned>(mode), out);
  out += on ? 'h' : 'l';
}

// DECSCUSR's parameter; 0 asks for the terminal's own default, which is
// what a session that never chose a shape has.
inline int cursor_style(const Cursor& c) {
  if (c.shape == CursorShape::block && c.blink) return 0;
  const int base = c.shape == CursorShape::block ? 1 : c.shape == CursorShape::underline ? 3 : 5;
  return base + (c.blink ? 0 : 1);
}

}  // namespace roam::client::codes
