// The control sequences (CSI) the scanner acts on itself, beside or instead
// of libvterm: DEC private modes, what SGR sets that libvterm 0.1.4 does not
// keep, REP, DECSTR. See the list at the top of terminal.cc for why.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
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
  } else if (csi_leader == 0 && csi_intermediates == 0 && ((final_byte == 's' && !lr_margins) || final_byte == 'u')) {
    // SCOSC, SCORC: libvterm 0.1.4 takes CSI s for DECSLRM always and knows
    // no CSI u; they are DECSC and DECRC, as in xterm (CSI s only without
    // DECLRMM, when it does not set margins).
    cancel_csi(i);
    if (final_byte == 's') {
      feed("\x1b" "7");
      save_cursor();
    } else {
      feed("\x1b" "8");
      restore_cursor(i);
    }
  } else if (csi_leader == 0 && csi_intermediate == '"' && final_byte == 'q') {
    // DECSCA: libvterm 0.1.4 keeps the protection but tells its screen
    // layer only; ours has it in the pen.
    feed_to(i + 1);
    pen.attrs = static_cast<uint16_t>(args[0] == 1 ? pen.attrs | attr_protected : pen.attrs & ~attr_protected);
  } else if (csi_leader == 0 && csi_intermediate == '!' && final_byte == 'p') {
    // DECSTR, which libvterm 0.1.4 ignores: what xterm resets, said in terms
    // libvterm knows (the pen, insert mode, autowrap, the cursor, margins, G0).
    feed_to(i + 1);
    feed("\x1b[m\x1b[4l\x1b[?7h\x1b[?25h\x1b[r\x1b(B");
    pen.attrs &= static_cast<uint16_t>(~(scanned_attrs | attr_protected));
    pen.ul = Color::none();
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

// SGR: what libvterm 0.1.4 does not keep, or keeps otherwise. Follows its
// walk over the arguments (pen.c), so that a 2 or 8 it reads as a colour
// component is not taken for faint or conceal.
void Terminal::Impl::sgr(size_t i) {
  SgrScan s;
  s.attrs = pen.attrs & scanned_attrs;
  s.ul = pen.ul;
  int k = 0;
  while (k < argc) {
    k = sgr_arg(k, s);
    while (k < argc && more[k]) ++k;
    ++k;
  }
  const bool changes = s.attrs != (pen.attrs & scanned_attrs) || s.ul != pen.ul || s.underline >= underline_dotted ||
                       s.fg || s.bg;
  if (s.strip != 0) {
    cancel_csi(i);
    feed_sgr_without(s.strip);
  } else if (changes) {
    feed_to(i + 1);
  }
  pen.attrs = static_cast<uint16_t>((pen.attrs & ~scanned_attrs) | s.attrs);
  pen.ul = s.ul;
  if (s.underline >= underline_dotted)
    pen.attrs = static_cast<uint16_t>((pen.attrs & ~attr_underline_mask) | s.underline << attr_underline_shift);
  if (s.fg) pen.fg = *s.fg;
  if (s.bg) pen.bg = *s.bg;
}

// The SGR argument at k, with what follows it that it takes; returns the
// last argument it took.
int Terminal::Impl::sgr_arg(int k, SgrScan& s) {
  const auto value = [&](int at) { return at < argc ? args[at] : -1; };
  switch (args[k]) {
    case -1:
    case 0:
      s.attrs = 0;
      s.ul = Color::none();
      s.underline = underline_none;
      s.fg.reset();
      s.bg.reset();
      break;
    case 2: s.attrs |= attr_faint; break;
    case 8: s.attrs |= attr_conceal; break;
    case 22: s.attrs &= ~attr_faint; break;
    case 28: s.attrs &= ~attr_conceal; break;
    case 4: {
      // 4:N, the style: libvterm knows 0-3 and takes the others for single.
      const int style = more[k] ? value(k + 1) : underline_single;
      s.underline = style >= 0 && style <= underline_dashed ? style : underline_single;
      break;
    }
    case 21: s.underline = underline_double; break;
    case 24: s.underline = underline_none; break;
    case 30: case 31: case 32: case 33: case 34: case 35: case 36: case 37: case 39:
    case 90: case 91: case 92: case 93: case 94: case 95: case 96: case 97:
      s.fg.reset();
      break;
    case 40: case 41: case 42: case 43: case 44: case 45: case 46: case 47: case 49:
    case 100: case 101: case 102: case 103: case 104: case 105: case 106: case 107:
      s.bg.reset();
      break;
    case 38:
    case 48: {
      // 38;5;N below 16 is the palette's colour, which libvterm does not tell
      // from SGR 30-37.
      std::optional<Color>& c = args[k] == 38 ? s.fg : s.bg;
      const int palette = value(k + 1);
      const int left = argc - k - 2;
      if (palette == 5 && left > 0 && args[k + 2] >= 0)
        c = (args[k + 2] & 0xff) < 16 ? std::optional(Color::index256(static_cast<uint8_t>(args[k + 2]))) : std::nullopt;
      else if (palette == 2 && left >= 3)
        c.reset();
      return k + 1 + (palette == 2 ? std::min(left, 3) : palette == 5 ? (left > 0 ? 1 : 0) : 0);
    }
    case 58:
      return underline_color(k, s);
    case 59:
      s.ul = Color::none();
      break;
    default:
      break;
  }
  return k;
}

// SGR 58, unknown to libvterm: 58;5;N, 58;2;R;G;B, and the colon forms
// 58:5:N, 58:2:R:G:B, 58:2:CS:R:G:B (58:2::R:G:B). libvterm skips colon
// forms whole but would take 58;5;N's 5 for blink: those never reach it.
int Terminal::Impl::underline_color(int k, SgrScan& s) {
  const auto component = [&](int at) { return args[at] < 0 ? 0 : args[at]; };
  const auto rgb = [&](int at) {
    if (component(at) <= 255 && component(at + 1) <= 255 && component(at + 2) <= 255)
      s.ul = Color::from_rgb(static_cast<uint8_t>(component(at)), static_cast<uint8_t>(component(at + 1)),
                             static_cast<uint8_t>(component(at + 2)));
  };
  if (more[k]) {
    int n = 0;  // sub-parameters
    while (k + n < argc - 1 && more[k + n]) ++n;
    const int palette = args[k + 1];
    if (palette == 5 && n >= 2 && component(k + 2) <= 255) s.ul = Color::index(static_cast<uint8_t>(component(k + 2)));
    if (palette == 2 && n >= 5) rgb(k + 3);
    if (palette == 2 && n == 4) rgb(k + 2);
    return k;
  }
  const int palette = k + 1 < argc ? args[k + 1] : -1;
  const int took = palette == 5 && k + 2 < argc ? 2 : palette == 2 && k + 4 < argc ? 4 : std::min(1, argc - 1 - k);
  if (took == 2 && component(k + 2) <= 255) s.ul = Color::index(static_cast<uint8_t>(component(k + 2)));
  if (took == 4) rgb(k + 2);
  for (int a = k; a <= k + took; ++a) s.strip |= static_cast<uint16_t>(1u << a);
  return k + took;
}

// Feeds libvterm the SGR just read without the arguments in `strip` (a bit
// per argument), if any are left.
void Terminal::Impl::feed_sgr_without(uint16_t strip) {
  std::array<char, 8 + max_csi_args * 8> buf;
  char* out = buf.data();
  *out++ = '\x1b';
  *out++ = '[';
  bool any = false, sub = false;  // sub: the last argument kept has a sub-parameter next
  for (int k = 0; k < argc; ++k) {
    if (strip & (1u << k)) continue;
    if (any) *out++ = sub ? ':' : ';';
    any = true;
    sub = more[k];
    if (args[k] >= 0) out = fmt::format_to(out, "{}", args[k]);
  }
  *out++ = 'm';
  if (any) feed(std::string_view(buf.data(), static_cast<size_t>(out - buf.data())));
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
