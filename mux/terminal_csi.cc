// The control sequences (CSI) the scanner acts on itself, beside or instead
// of libvterm: DEC private modes, what SGR sets that libvterm 0.1.4 does not
// keep, REP, DECSTR. See the list at the top of terminal.cc for why.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "mux/terminal_impl.h"
#include "protocol/utf8.h"

namespace roam::mux {

void Terminal::Impl::dispatch_csi(size_t i, unsigned char final_byte) {
  if (csi_leaders > 1 || csi_intermediates > 1) return;  // libvterm ignores these
  if (csi_leader == '?' && csi_intermediates == 0 && (final_byte == 'h' || final_byte == 'l')) {
    dec_modes(i, final_byte == 'h');
  } else if (csi_leader == 0 && csi_intermediates == 0 && final_byte == 'm') {
    sgr(i);
  } else if (csi_leader == 0 && csi_intermediates == 0 && final_byte == 'b') {
    repeat(i);
  } else if (csi_leader == 0 && csi_intermediates == 0 && (final_byte == 's' || final_byte == 'u') && !lr_margins) {
    // SCOSC, SCORC: libvterm 0.1.4 takes CSI s for DECSLRM always and knows
    // no CSI u; they are DECSC and DECRC (as in xterm without DECLRMM).
    cancel_csi(i);
    if (final_byte == 's') {
      feed("\x1b" "7");
      save_cursor();
    } else {
      feed("\x1b" "8");
      restore_cursor(i);
    }
  } else if (csi_leader == 0 && csi_intermediate == '!' && final_byte == 'p') {
    // DECSTR, which libvterm 0.1.4 ignores: what xterm resets, said in terms
    // libvterm knows (the pen, insert mode, autowrap, the cursor, margins, G0).
    feed_to(i + 1);
    feed("\x1b[m\x1b[4l\x1b[?7h\x1b[?25h\x1b[r\x1b(B");
    pen.attrs &= static_cast<uint16_t>(~scanned_attrs);
    g_sets[0] = 'B';
    Modes m = screen.modes();
    m.app_cursor_keys = false;
    m.app_keypad = false;
    screen.set_modes(m);
  }
}

void Terminal::Impl::dec_modes(size_t i, bool set) {
  // The cursor 1048 and 1049 save: before libvterm acts on any of the modes.
  feed_to(i);
  const bool saves = set && std::find_if(args.begin(), args.begin() + argc, [](int32_t a) {
                              return a == 1048 || a == 1049;
                            }) != args.begin() + argc;
  if (saves) save_cursor();
  if (argc > 1) {
    feed_to(i + 1);
    for (int k = 1; k < argc; ++k) {
      if (args[k] < 0) continue;
      std::array<char, 24> buf;
      auto end = fmt::format_to_n(buf.data(), buf.size(), "\x1b[?{}{}", args[k], set ? 'h' : 'l').out;
      feed(std::string_view(buf.data(), static_cast<size_t>(end - buf.data())));
    }
  }
  Modes m = screen.modes();
  bool restore = false, deccolm = false;
  auto encoding = [&](MouseEncoding e) {
    if (set)
      m.mouse_encoding = e;
    else if (m.mouse_encoding == e)
      m.mouse_encoding = MouseEncoding::x10;
  };
  for (int k = 0; k < argc; ++k) {
    switch (args[k]) {
      case 1:
        m.app_cursor_keys = set;
        break;
      case 3:
        deccolm = true;
        break;
      case 6:
        origin = set;
        break;
      case 69:
        lr_margins = set;
        break;
      case 66:
        m.app_keypad = set;
        break;
      case 1004:
        m.focus_events = set;
        break;
      case 1005:
        encoding(MouseEncoding::utf8);
        break;
      case 1006:
        encoding(MouseEncoding::sgr);
        break;
      case 1015:
        encoding(MouseEncoding::urxvt);
        break;
      case 2004:
        m.bracketed_paste = set;
        break;
      case 1048:
      case 1049:
        restore = restore || !set;
        break;
      default:
        break;
    }
  }
  if (m != screen.modes()) screen.set_modes(m);
  if (restore) restore_cursor(i);
  if (deccolm) {
    // DECCOLM: roam keeps the client's size, and does what the VT100 does
    // beside the switch, size changed or not: margins reset, screen
    // cleared, cursor home.
    feed_to(i + 1);
    feed("\x1b[r\x1b[2J\x1b[H");
  }
}

// Follows libvterm's walk over SGR arguments (pen.c), so that a 2 or 8 it
// reads as a colour component is not taken for faint or conceal.
void Terminal::Impl::sgr(size_t i) {
  uint16_t attrs = pen.attrs & scanned_attrs;
  int k = 0;
  while (k < argc) {
    switch (args[k]) {
      case -1:
      case 0:
        attrs = 0;
        break;
      case 2:
        attrs |= attr_faint;
        break;
      case 8:
        attrs |= attr_conceal;
        break;
      case 22:
        attrs &= ~attr_faint;
        break;
      case 28:
        attrs &= ~attr_conceal;
        break;
      case 38:
      case 48: {
        const int palette = k + 1 < argc ? args[k + 1] : -1;
        const int left = argc - k - 2;
        k += 1 + (palette == 2 ? std::min(left, 3) : palette == 5 ? (left > 0 ? 1 : 0) : 0);
        break;
      }
      default:
        break;
    }
    while (k < argc && more[k]) ++k;
    ++k;
  }
  if (attrs != (pen.attrs & scanned_attrs)) {
    feed_to(i + 1);
    pen.attrs = static_cast<uint16_t>((pen.attrs & ~scanned_attrs) | attrs);
  }
}

// Keeps the CSI ending at i from libvterm: it gets what came before, then
// CAN, which abandons the sequence.
void Terminal::Impl::cancel_csi(size_t i) {
  feed_to(i);
  feed(std::string_view(&CAN, 1));
  fed = i + 1;
}

// REP. libvterm 0.1.4 loops forever repeating a glyph of width 0 (or none
// yet), so it never sees REP: we feed it the character again, as xterm would
// print it, at most a screenful of times.
void Terminal::Impl::repeat(size_t i) {
  cancel_csi(i);  // after the text before, which sets last_char
  if (last_char == 0) return;
  int count = std::clamp(args[0], 1, screen.cols() * screen.rows());
  std::array<char, 4> one;
  const auto len = static_cast<size_t>(put_utf8(one.data(), last_char) - one.data());
  std::array<char, 256> many;
  const int per_feed = static_cast<int>(many.size() / len);
  for (int k = 0; k < per_feed; ++k) std::copy_n(one.begin(), len, many.begin() + k * static_cast<std::ptrdiff_t>(len));
  while (count > 0) {
    const int k = std::min(count, per_feed);
    feed(std::string_view(many.data(), static_cast<size_t>(k) * len));
    count -= k;
  }
}

}  // namespace roam::mux
