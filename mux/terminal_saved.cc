// The saved cursor: DECSC and DECRC, CSI s and u (libvterm takes them for
// DECSC/DECRC when no left/right margins are set), the cursor 1048 and 1049
// save. libvterm 0.1.4 saves the position and its own pen only; the VT100
// and xterm also save the character sets designated and invoked (G0-G3,
// GL, GR), origin mode, and all the pen, with what the scanner keeps of it.
// Those are kept here and given back to libvterm after its restore.
#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "mux/terminal_impl.h"

namespace roam::mux {

void Terminal::Impl::save_cursor() {
  saved_at = {screen.cursor().x, screen.cursor().y, false};
  saved_on_primary = !screen.modes().alternate_screen;
  saved_moved = false;
  saved = {g_sets, gl, gr, origin, pen};
}

// libvterm 0.1.4 restores a saved cursor (DECRC, the end of 1048/1049)
// without bounding it by a size that may have shrunk since, then indexes its
// arrays with it: move it back onto the screen straight away. After a resize
// it goes where the text it was saved on went.
void Terminal::Impl::restore_cursor(size_t i) {
  feed_to(i + 1);
  if (origin != saved.origin) {
    // Setting origin mode homes the cursor: libvterm restores it again after.
    origin = saved.origin;
    feed(origin ? "\x1b[?6h\x1b" "8" : "\x1b[?6l\x1b" "8");
  }
  restore_charsets();
  pen = saved.pen;  // what libvterm restored, and what it does not keep
  if (saved_moved) {
    move_cursor(std::clamp(saved_at.y, 0, screen.rows() - 1), std::clamp(saved_at.x, 0, screen.cols() - 1));
    return;
  }
  VTermPos pos;
  vterm_state_get_cursorpos(state, &pos);
  if (pos.row < screen.rows() && pos.col < screen.cols()) return;
  move_cursor(std::min(pos.row, screen.rows() - 1), std::min(pos.col, screen.cols() - 1));
}

// Designates and invokes what was saved, in sequences libvterm knows.
void Terminal::Impl::restore_charsets() {
  for (int g = 0; g < 4; ++g) {
    if (g_sets[g] == saved.g_sets[g]) continue;
    const std::array<char, 3> scs{'\x1b', "()*+"[g], saved.g_sets[g]};
    feed(std::string_view(scs.data(), scs.size()));
  }
  g_sets = saved.g_sets;
  static constexpr std::string_view gl_shifts[] = {"\x0f", "\x0e", "\x1bn", "\x1bo"};  // SI SO LS2 LS3
  static constexpr std::string_view gr_shifts[] = {"", "\x1b~", "\x1b}", "\x1b|"};     // LS1R LS2R LS3R
  if (gl != saved.gl) feed(gl_shifts[saved.gl]);
  if (gr != saved.gr && saved.gr > 0) feed(gr_shifts[saved.gr]);
  gl = saved.gl;
  gr = saved.gr;
}

}  // namespace roam::mux
