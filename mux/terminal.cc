// libvterm's state layer parses; its callbacks drive our Screen. Beside it a
// small scanner reads the same bytes (a memchr over plain text) for what
// libvterm 0.1.4 parses but does not report: application cursor keys and
// keypad, bracketed paste, focus events, mouse encodings, faint and
// concealed text. It also keeps libvterm 0.1.4 away from its bugs, each
// found here by test or fuzzing:
//  - a CSI with more than 16 arguments writes past its argument array, and
//    huge arguments overflow its int arithmetic: such a CSI is cancelled;
//  - REP after no glyph, or a zero-width one, loops forever: REP is ours;
//  - a C1 control written as UTF-8 walks its cursor off the screen: dropped;
//  - OSC and DCS strings, and UTF-8 characters, split between two writes are
//    lost or garbled: the scanner hands them over whole (strings bounded);
//  - DEC line drawing depends on where text runs start: runs are cut so it
//    does not;
//  - a scroll region or a saved cursor beyond a shrunk screen is used as is:
//    margins are reset on resize and a restored cursor is put back on screen;
//  - CSI ? Pm h/l acts on its first mode only: the others are fed again;
//  - SOS/PM/APC strings print as text, DECSTR is ignored: we drop the one and
//    do the other.
// libvterm's input is cut where the scanner acts, so what it changes lands
// between the glyphs before and after it, as the program meant.
//
// Known limit: a combining mark that arrives in a later write than the
// character before it, when that character ends in the last column, is
// taken by libvterm for a new glyph and wraps the line.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <string>

#include "mux/terminal_impl.h"
#include "protocol/utf8.h"

namespace roam::mux {
namespace {

constexpr int32_t max_csi_value = 999999;  // larger is absurd, and unsafe in libvterm
constexpr size_t max_osc = Screen::max_clipboard + 64;
constexpr size_t max_dcs = 4096;
constexpr size_t keep_string_capacity = 64 << 10;

Color to_color(const VTermColor& c, bool foreground) {
  if (foreground ? VTERM_COLOR_IS_DEFAULT_FG(&c) : VTERM_COLOR_IS_DEFAULT_BG(&c)) return Color::none();
  if (VTERM_COLOR_IS_INDEXED(&c)) return Color::index(c.indexed.idx);
  return Color::from_rgb(c.rgb.red, c.rgb.green, c.rgb.blue);
}

void set_flag(uint16_t& attrs, uint16_t flag, bool on) { attrs = on ? attrs | flag : attrs & ~flag; }

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

// A C1 control (U+0080-U+009F) in UTF-8.
bool is_c1(const char* p, size_t len) {
  return len >= 2 && static_cast<unsigned char>(p[0]) == 0xc2 && static_cast<unsigned char>(p[1]) <= 0x9f &&
         static_cast<unsigned char>(p[1]) >= 0x80;
}

}  // namespace

const VTermStateCallbacks Terminal::Impl::state_callbacks = {
    .putglyph = on_putglyph,
    .movecursor = on_movecursor,
    .scrollrect = on_scrollrect,
    .moverect = on_moverect,
    .erase = on_erase,
    .initpen = on_initpen,
    .setpenattr = on_setpenattr,
    .settermprop = on_settermprop,
    .bell = on_bell,
    .resize = on_resize,
    .setlineinfo = on_setlineinfo,
};

const VTermParserCallbacks Terminal::Impl::fallbacks = {
    .text = nullptr,
    .control = nullptr,
    .escape = nullptr,
    .csi = nullptr,
    .osc = on_osc,
    .dcs = nullptr,
    .resize = nullptr,
};

Terminal::Impl::Impl(Terminal& o, int cols, int rows)
    : owner(o), screen(cols, rows), vt(vterm_new(screen.rows(), screen.cols())) {
  vterm_set_utf8(vt.get(), 1);
  vterm_output_set_callback(vt.get(), on_output, this);
  state = vterm_obtain_state(vt.get());
  vterm_state_set_callbacks(state, &state_callbacks, this);
  vterm_state_set_unrecognised_fallbacks(state, &fallbacks, this);
  vterm_state_reset(state, 1);
}

void Terminal::Impl::write(std::string_view bytes) {
  if (utf8_held > 0) {
    // The last write ended inside a character: go on as if it had not.
    joined.assign(utf8_hold.data(), utf8_held);
    joined.append(bytes);
    utf8_held = 0;
    process(joined);
  } else {
    process(bytes);
  }
}

void Terminal::Impl::process(std::string_view bytes) {
  chunk = bytes.data();
  end_of_chunk = bytes.size();
  fed = 0;
  const size_t n = bytes.size();
  // In text, the scanner wants ESC, C1 controls and the shifts SO and SI.
  // Their next positions are looked up once and reused until passed.
  size_t next_esc = 0, next_c1 = 0, next_so = 0, next_si = 0;
  bool looked = false;
  size_t text_from = 0;  // where the text since the last sequence starts
  size_t i = 0;
  while (i < n) {
    if (scan == Scan::ground) {
      if (!looked || next_esc < i) next_esc = find_byte(i, 0x1b);
      if (!looked || next_c1 < i) next_c1 = find_c1(i);
      if (!looked || next_so < i) next_so = find_byte(i, 0x0e);
      if (!looked || next_si < i) next_si = find_byte(i, 0x0f);
      looked = true;
      const size_t stop = std::min({next_esc, next_c1, next_so, next_si});
      if (g_translates[gl]) cut_runs(i, stop);
      if (stop == n) break;
      if (stop == next_c1) {
        // libvterm 0.1.4 gives these width -1 and walks its cursor off the
        // left edge (out of its arrays): they never reach it.
        feed_to(next_c1);
        fed = i = next_c1 + 2;
        continue;
      }
      i = stop + 1;
      if (stop == next_esc) {
        scan = Scan::esc;
        esc_intermediates = 0;
      } else {
        gl = stop == next_so ? 1 : 0;
      }
      continue;
    } else {
      step(i);
      if (scan == Scan::ground) text_from = i + 1;
    }
    ++i;
  }
  if (scan == Scan::string || scan == Scan::string_esc) {
    fed = n;  // the string's bytes so far are in string_buf
  } else {
    size_t end = n;
    if (scan == Scan::ground) hold_partial_utf8(std::max(fed, text_from), end);
    feed_to(end);
  }
  chunk = nullptr;
}

// libvterm 0.1.4 garbles a UTF-8 character split between two writes: keep
// an unfinished one at the end of text for the next write.
void Terminal::Impl::hold_partial_utf8(size_t text_from, size_t& end) {
  size_t lead = end;
  while (lead > text_from && end - lead < 3 && is_continuation(chunk[lead - 1])) --lead;
  if (lead <= text_from) return;
  --lead;
  const auto b = static_cast<unsigned char>(chunk[lead]);
  const size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  if (b < 0xc0 || b > 0xf7 || end - lead >= need) return;
  utf8_held = end - lead;
  std::copy(chunk + lead, chunk + end, utf8_hold.begin());
  end = lead;
}

// libvterm 0.1.4 decodes a run of text that starts with a non-ASCII byte as
// UTF-8 throughout, skipping the translation of the ASCII in it (DEC line
// drawing), so the result would depend on where writes split the text.
// Starting ASCII after non-ASCII in a fresh write translates it, as xterm does.
void Terminal::Impl::cut_runs(size_t from, size_t to) {
  for (size_t k = std::max<size_t>(from, 1); k < to; ++k) {
    const auto prev = static_cast<unsigned char>(chunk[k - 1]), c = static_cast<unsigned char>(chunk[k]);
    if (prev >= 0x80 && c >= 0x20 && c < 0x7f) feed_to(k);
  }
}

size_t Terminal::Impl::find_c1(size_t from) const {
  while (from < end_of_chunk) {
    const void* p = std::memchr(chunk + from, 0xc2, end_of_chunk - from);
    if (!p) break;
    const auto k = static_cast<size_t>(static_cast<const char*>(p) - chunk);
    if (is_c1(chunk + k, end_of_chunk - k)) return k;
    from = k + 1;
  }
  return end_of_chunk;
}

void Terminal::Impl::step(size_t i) {
  const auto c = static_cast<unsigned char>(chunk[i]);
  if (scan == Scan::string || scan == Scan::string_esc) {
    string_byte(i, c);
    return;
  }
  // As in libvterm's parser, these mean the same in every state.
  if (c == 0x18 || c == 0x1a) {  // CAN, SUB: abandon the sequence
    if (scan == Scan::csi_dropped) fed = i + 1;
    scan = Scan::ground;
    return;
  }
  if (c == 0x1b) {
    scan = Scan::esc;
    esc_intermediates = 0;
    return;
  }
  if (c == 0x0e || c == 0x0f) gl = c == 0x0e ? 1 : 0;  // SO, SI: executed inside sequences too
  if (scan == Scan::esc)
    esc_byte(i, c);
  else
    csi_byte(i, c);
}

void Terminal::Impl::esc_byte(size_t i, unsigned char c) {
  // Controls are executed (or NUL/DEL ignored) without leaving the escape;
  // libvterm also stays in it on bytes above 0x7f.
  if (c < 0x20 || c >= 0x7f) return;
  if (c <= 0x2f) {
    if (esc_intermediates++ == 0) esc_intermediate = c;
    return;
  }
  scan = Scan::ground;
  if (esc_intermediates > 0) {
    // SCS: libvterm knows ASCII, DEC graphics and UK, and ignores others.
    if (esc_intermediates == 1 && esc_intermediate >= '(' && esc_intermediate <= '+' &&
        (c == 'B' || c == '0' || c == 'A'))
      g_translates[esc_intermediate - '('] = c != 'B';
    // DECALN fills the screen with glyphs and no cursor motion between,
    // which would read as wrapped rows.
    if (esc_intermediates == 1 && esc_intermediate == '#' && c == '8') {
      feed_to(i + 1);
      for (int y = 0; y < screen.rows(); ++y) screen.set_wrapped(y, false);
      glyph_row = -1;
    }
    return;
  }
  switch (c) {
    case '[':
      start_csi();
      break;
    case ']':
      start_string(i, StringKind::osc);
      break;
    case 'P':
      start_string(i, StringKind::dcs);
      break;
    case 'X':  // SOS
    case '^':  // PM
    case '_':  // APC
      start_string(i, StringKind::ignored);
      break;
    case 'c':
      hard_reset(i);
      break;
    case '=':
    case '>': {
      Modes m = screen.modes();
      m.app_keypad = c == '=';
      screen.set_modes(m);
      break;
    }
    case 'n':  // LS2
    case 'o':  // LS3
      gl = c == 'n' ? 2 : 3;
      break;
    case '7':  // DECSC
      feed_to(i + 1);
      save_cursor();
      saved_attrs = pen.attrs & scanned_attrs;
      break;
    case '8':  // DECRC
      restore_cursor(i);
      restore_attrs(i, saved_attrs);
      break;
    default:
      break;
  }
}

void Terminal::Impl::start_csi() {
  scan = Scan::csi;
  csi_leading = true;
  csi_intermed = false;
  csi_leader = 0;
  csi_leaders = 0;
  csi_intermediate = 0;
  csi_intermediates = 0;
  argc = 1;
  args[0] = -1;
  more[0] = false;
}

// Keeps a CSI from libvterm: it gets the bytes before this one, then CAN,
// which abandons the sequence; we swallow the rest of it.
void Terminal::Impl::drop_csi(size_t i) {
  feed_to(i);
  feed(std::string_view(&CAN, 1));
  fed = i + 1;
  scan = Scan::csi_dropped;
}

void Terminal::Impl::csi_byte(size_t i, unsigned char c) {
  if (scan == Scan::csi_dropped) {
    if (c < 0x20) {
      feed_to(i + 1);  // executed inside a CSI, as libvterm would
      return;
    }
    fed = i + 1;
    if (c >= 0x40 && c != 0x7f) scan = Scan::ground;  // its final byte (or garbage) ends it
    return;
  }
  if (c < 0x20 || c == 0x7f) return;
  if (csi_leading) {
    if (c >= 0x3c && c <= 0x3f) {
      if (csi_leaders++ == 0) csi_leader = c;
      return;
    }
    csi_leading = false;
  }
  if (!csi_intermed) {
    if (c >= '0' && c <= '9') {
      int32_t& a = args[argc - 1];
      a = (a < 0 ? 0 : a * 10) + (c - '0');
      if (a > max_csi_value) drop_csi(i);
      return;
    }
    if (c == ':' || c == ';') {
      if (argc == max_csi_args) {
        drop_csi(i);
        return;
      }
      more[argc - 1] = c == ':';
      args[argc] = -1;
      more[argc] = false;
      ++argc;
      return;
    }
    csi_intermed = true;
  }
  if (c >= 0x20 && c <= 0x2f) {
    csi_intermediate = c;
    ++csi_intermediates;
    return;
  }
  scan = Scan::ground;
  if (c >= 0x40 && c <= 0x7e) dispatch_csi(i, c);
}

void Terminal::Impl::dispatch_csi(size_t i, unsigned char final_byte) {
  if (csi_leaders > 1 || csi_intermediates > 1) return;  // libvterm ignores these
  if (csi_leader == '?' && csi_intermediates == 0 && (final_byte == 'h' || final_byte == 'l')) {
    dec_modes(i, final_byte == 'h');
  } else if (csi_leader == 0 && csi_intermediates == 0 && final_byte == 'm') {
    sgr(i);
  } else if (csi_leader == 0 && csi_intermediates == 0 && final_byte == 'b') {
    repeat(i);
  } else if (csi_leader == 0 && csi_intermediate == '!' && final_byte == 'p') {
    // DECSTR, which libvterm 0.1.4 ignores: what xterm resets, said in terms
    // libvterm knows (the pen, insert mode, autowrap, the cursor, margins, G0).
    feed_to(i + 1);
    feed("\x1b[m\x1b[4l\x1b[?7h\x1b[?25h\x1b[r\x1b(B");
    pen.attrs &= static_cast<uint16_t>(~scanned_attrs);
    g_translates[0] = false;
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
  bool restore = false;
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
        if (set)
          saved_attrs = pen.attrs & scanned_attrs;
        else
          restore = true;
        break;
      default:
        break;
    }
  }
  if (m != screen.modes()) screen.set_modes(m);
  if (restore) {
    restore_cursor(i);
    restore_attrs(i, saved_attrs);
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

// REP. libvterm 0.1.4 loops forever repeating a glyph of width 0 (or none
// yet), so it never sees REP: we feed it the character again, as xterm would
// print it, at most a screenful of times.
void Terminal::Impl::repeat(size_t i) {
  feed_to(i);  // the text before, which sets last_char, and the CSI so far
  feed(std::string_view(&CAN, 1));
  fed = i + 1;
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

void Terminal::Impl::restore_attrs(size_t i, uint16_t attrs) {
  if (attrs == (pen.attrs & scanned_attrs)) return;
  feed_to(i + 1);
  pen.attrs = static_cast<uint16_t>((pen.attrs & ~scanned_attrs) | attrs);
}

// RIS: libvterm resets its state and erases the grid shown, but says nothing
// of leaving the alternate screen.
void Terminal::Impl::hard_reset(size_t i) {
  feed_to(i + 1);
  screen.set_modes(Modes{});
  screen.erase({0, 0, screen.rows(), screen.cols()}, Color::none());
  saved_attrs = 0;
  glyph_row = -1;
  last_char = 0;
  g_translates = {};
  gl = 0;
}

// The introducer's ESC may have reached libvterm already (an earlier write):
// CAN takes libvterm out of the escape, and the string goes to string_buf.
void Terminal::Impl::start_string(size_t i, StringKind kind) {
  feed_to(i);
  feed(std::string_view(&CAN, 1));
  fed = i + 1;
  scan = Scan::string;
  string_kind = kind;
  string_overflow = false;
  string_buf.clear();
  if (kind == StringKind::osc) string_buf = "\x1b]";
  if (kind == StringKind::dcs) string_buf = "\x1bP";
}

void Terminal::Impl::string_byte(size_t i, unsigned char c) {
  if (scan == Scan::string_esc) {
    if (c == '\\') {
      fed = i + 1;
      finish_string();
      return;
    }
    // Another escape sequence starts: the string is abandoned and the ESC
    // belongs to what follows.
    fed = i;
    feed("\x1b");
    scan = Scan::esc;
    esc_intermediates = 0;
    step(i);
    return;
  }
  if (c == 0x1b) {
    scan = Scan::string_esc;
    return;
  }
  if (c == 0x07) {  // BEL ends an OSC (and, as libvterm has it, a DCS)
    fed = i + 1;
    finish_string();
    return;
  }
  if (c == 0x18 || c == 0x1a) {
    fed = i + 1;
    scan = Scan::ground;
    return;
  }
  if (c < 0x20 || c == 0x7f || string_kind == StringKind::ignored || string_overflow) return;
  const size_t limit = (string_kind == StringKind::osc ? max_osc : max_dcs) + 2;
  if (string_buf.size() >= limit) {
    string_overflow = true;  // dropped whole when it ends: a cut-off payload is worse than none
    return;
  }
  string_buf.push_back(static_cast<char>(c));
}

void Terminal::Impl::finish_string() {
  scan = Scan::ground;
  if (string_kind != StringKind::ignored && !string_overflow) {
    string_buf += string_kind == StringKind::osc ? "\x07" : "\x1b\\";
    feed(string_buf);
  }
  if (string_buf.capacity() > keep_string_capacity)
    std::string().swap(string_buf);
  else
    string_buf.clear();
}

// --- libvterm callbacks. They return 1: "handled, do nothing more".

// Called for every character: kept to a few instructions, with what is rare
// (column 0, where a wrap shows) out of line.
int Terminal::Impl::on_putglyph(VTermGlyphInfo* info, VTermPos pos, void* user) {
  auto& t = *static_cast<Impl*>(user);
  // Read once, into registers: the stores below could alias *info as far as
  // the compiler knows. (Taking pos apart by shifting spares g++ a spill and
  // a stalled reload of its halves.)
  static_assert(sizeof(VTermPos) == sizeof(uint64_t) && offsetof(VTermPos, col) == 4);
  uint64_t packed;
  std::memcpy(&packed, &pos, sizeof packed);
  const auto row = static_cast<int>(static_cast<uint32_t>(packed));
  const auto col = static_cast<int>(static_cast<uint32_t>(packed >> 32));
  const uint32_t* chars = info->chars;
  const int width = info->width;
  if (col == 0) return t.put_first_glyph(chars, width, row);
  if (width < 1) return 1;  // a lone zero-width character takes no cell
  t.glyph_row = row;
  t.glyph_col = col;
  t.glyph_end = col + width;
  t.last_char = chars[0];
  t.screen.put(col, row, chars, width, t.pen);
  return 1;
}

int Terminal::Impl::put_first_glyph(const uint32_t* chars, int width, int row) {
  if (width < 1) return 1;
  if (glyph_row >= 0 && glyph_row == row - 1 && glyph_end + width > screen.cols())
    screen.set_wrapped(glyph_row, true);
  glyph_row = row;
  glyph_col = 0;
  glyph_end = width;
  last_char = chars[0];
  screen.put(0, row, chars, width, pen);
  return 1;
}

int Terminal::Impl::on_movecursor(VTermPos pos, VTermPos, int visible, void* user) {
  auto& t = *static_cast<Impl*>(user);
  Cursor c = t.screen.cursor();
  c.x = pos.col;
  c.y = pos.row;
  c.visible = visible != 0;
  t.screen.set_cursor(c);
  // Only the move to just after the last glyph (libvterm reports each run
  // of text that way) keeps a wrap possible. A glyph that reaches the right
  // edge leaves the cursor on itself.
  const int after = t.glyph_end >= t.screen.cols() ? t.glyph_col : t.glyph_end;
  if (t.glyph_row >= 0 && (pos.row != t.glyph_row || pos.col != after)) t.glyph_row = -1;
  return 1;
}

int Terminal::Impl::on_scrollrect(VTermRect rect, int downward, int rightward, void* user) {
  auto& t = *static_cast<Impl*>(user);
  const Rect r{rect.start_row, rect.start_col, rect.end_row, rect.end_col};
  const bool full_width = r.left == 0 && r.right == t.screen.cols();
  if (downward > 0 && rightward == 0 && full_width && r.top == 0 && !t.screen.modes().alternate_screen &&
      t.owner.on_scrollback) {
    const int n = std::min(downward, r.bottom - r.top);
    for (int y = 0; y < n; ++y) t.owner.on_scrollback(t.screen.row(y));
  }
  t.screen.scroll(r, -downward, -rightward, t.pen.bg);
  if (t.glyph_row >= r.top && t.glyph_row < r.bottom && rightward == 0 && full_width) {
    t.glyph_row -= downward;
    if (t.glyph_row < r.top || t.glyph_row >= r.bottom) t.glyph_row = -1;
  }
  return 1;
}

int Terminal::Impl::on_moverect(VTermRect dest, VTermRect src, void* user) {
  auto& t = *static_cast<Impl*>(user);
  t.screen.move({dest.start_row, dest.start_col, dest.end_row, dest.end_col},
                {src.start_row, src.start_col, src.end_row, src.end_col});
  return 1;
}

int Terminal::Impl::on_erase(VTermRect rect, int, void* user) {
  // DECSED/DECSEL's protection of DECSCA cells is not kept: erase them all.
  auto& t = *static_cast<Impl*>(user);
  t.screen.erase({rect.start_row, rect.start_col, rect.end_row, rect.end_col}, t.pen.bg);
  return 1;
}

int Terminal::Impl::on_initpen(void* user) {
  static_cast<Impl*>(user)->pen = Pen{};
  return 1;
}

int Terminal::Impl::on_setpenattr(VTermAttr attr, VTermValue* val, void* user) {
  Pen& pen = static_cast<Impl*>(user)->pen;
  switch (attr) {
    case VTERM_ATTR_BOLD:
      set_flag(pen.attrs, attr_bold, val->boolean);
      break;
    case VTERM_ATTR_UNDERLINE:
      pen.attrs = static_cast<uint16_t>((pen.attrs & ~attr_underline_mask) |
                                        ((val->number & 3) << attr_underline_shift));
      break;
    case VTERM_ATTR_ITALIC:
      set_flag(pen.attrs, attr_italic, val->boolean);
      break;
    case VTERM_ATTR_BLINK:
      set_flag(pen.attrs, attr_blink, val->boolean);
      break;
    case VTERM_ATTR_REVERSE:
      set_flag(pen.attrs, attr_reverse, val->boolean);
      break;
    case VTERM_ATTR_STRIKE:
      set_flag(pen.attrs, attr_strike, val->boolean);
      break;
    case VTERM_ATTR_FOREGROUND:
      pen.fg = to_color(val->color, true);
      break;
    case VTERM_ATTR_BACKGROUND:
      pen.bg = to_color(val->color, false);
      break;
    default:  // fonts: not kept
      break;
  }
  return 1;
}

int Terminal::Impl::on_settermprop(VTermProp prop, VTermValue* val, void* user) {
  auto& t = *static_cast<Impl*>(user);
  Cursor c = t.screen.cursor();
  Modes m = t.screen.modes();
  switch (prop) {
    case VTERM_PROP_CURSORVISIBLE:
      c.visible = val->boolean != 0;
      break;
    case VTERM_PROP_CURSORBLINK:
      c.blink = val->boolean != 0;
      break;
    case VTERM_PROP_CURSORSHAPE:
      c.shape = val->number == VTERM_PROP_CURSORSHAPE_UNDERLINE ? CursorShape::underline
                : val->number == VTERM_PROP_CURSORSHAPE_BAR_LEFT ? CursorShape::bar
                                                                  : CursorShape::block;
      break;
    case VTERM_PROP_ALTSCREEN:
      m.alternate_screen = val->boolean != 0;
      t.glyph_row = -1;
      break;
    case VTERM_PROP_TITLE:
      t.screen.set_title(val->string);
      break;
    case VTERM_PROP_ICONNAME:
      t.screen.set_icon_name(val->string);
      break;
    case VTERM_PROP_REVERSE:
      m.reverse_video = val->boolean != 0;
      break;
    case VTERM_PROP_MOUSE:
      m.mouse_tracking = val->number == VTERM_PROP_MOUSE_CLICK  ? MouseTracking::click
                         : val->number == VTERM_PROP_MOUSE_DRAG ? MouseTracking::drag
                         : val->number == VTERM_PROP_MOUSE_MOVE ? MouseTracking::motion
                                                                : MouseTracking::none;
      break;
    default:
      break;
  }
  if (c != t.screen.cursor()) t.screen.set_cursor(c);
  if (m != t.screen.modes()) t.screen.set_modes(m);
  return 1;
}

int Terminal::Impl::on_bell(void* user) {
  static_cast<Impl*>(user)->screen.ring_bell();
  return 1;
}

// Double-width and double-height lines (DECDWL, DECDHL) are not kept.
int Terminal::Impl::on_setlineinfo(int, const VTermLineInfo*, const VTermLineInfo*, void*) { return 1; }

// libvterm 0.1.4 knows no OSC 52 (set clipboard); it reaches us here.
int Terminal::Impl::on_osc(const char* command, size_t len, void* user) {
  auto& t = *static_cast<Impl*>(user);
  std::string_view s(command, len);
  if (!s.starts_with("52;")) return 0;
  s.remove_prefix(3);
  const size_t semi = s.find(';');
  if (semi == std::string_view::npos) return 0;
  const std::string_view data = s.substr(semi + 1);
  // "?" asks to read the clipboard: programs never get to read the user's.
  if (data != "?") t.screen.set_clipboard(s.substr(0, semi), data);
  return 1;
}

void Terminal::Impl::on_output(const char* bytes, size_t len, void* user) {
  auto& t = *static_cast<Impl*>(user);
  if (t.owner.on_reply) t.owner.on_reply(std::string_view(bytes, len));
}

Terminal::Terminal(int cols, int rows) : impl_(std::make_unique<Impl>(*this, cols, rows)) {}

Terminal::~Terminal() = default;

void Terminal::write(std::string_view bytes) { impl_->write(bytes); }

void Terminal::resize(int cols, int rows) { impl_->resize(cols, rows); }

const Screen& Terminal::screen() const { return impl_->screen; }

}  // namespace roam::mux
