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
//    do the other;
//  - the saved cursor keeps no character sets or origin mode, CSI s is
//    always DECSLRM and CSI u unknown: terminal_saved.cc;
//  - DECCOLM is ignored: it clears the screen (terminal_csi.cc);
//  - DECSCA's protection reaches the screen layer only: it goes in our pen,
//    and selective erases (DECSED, DECSEL) leave the cells that have it.
// libvterm's input is cut where the scanner acts, so what it changes lands
// between the glyphs before and after it, as the program meant.
//
// Known limit: a combining mark that arrives in a later write than the
// character before it, when that character ends in the last column, is
// taken by libvterm for a mark without a character: it wraps the line and
// is drawn on a no-break space.
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

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

// A C1 control (U+0080-U+009F) in UTF-8.
bool is_c1(const char* p, size_t len) {
  return len >= 2 && static_cast<unsigned char>(p[0]) == 0xc2 && static_cast<unsigned char>(p[1]) <= 0x9f &&
         static_cast<unsigned char>(p[1]) >= 0x80;
}

}  // namespace

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
      cut_runs(i, stop);
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

// Cuts libvterm's writes of the text [from, to), for two of its bugs:
//  - it decodes a run of text that starts with a non-ASCII byte as UTF-8
//    throughout, skipping the translation of the ASCII in it (DEC line
//    drawing), so the result would depend on where writes split the text:
//    starting ASCII after non-ASCII in a fresh write translates it, as
//    xterm does;
//  - a combining mark with no character before it takes no cell: only one
//    that starts a run of text (after a control or a sequence) can be such,
//    and ending the write after it lets draw_lone_marks put it in its place.
void Terminal::Impl::cut_runs(size_t from, size_t to) {
  const bool translating = g_sets[gl] != 'B';
  for (size_t k = from; k < to; ++k) {
    const auto c = static_cast<unsigned char>(chunk[k]);
    const auto prev = k > 0 ? static_cast<unsigned char>(chunk[k - 1]) : 0;
    if (translating && prev >= 0x80 && c >= 0x20 && c < 0x7f) feed_to(k);
    if (c >= 0xcc && (k == from || prev < 0x20)) {  // U+0300, the first combining mark, is 0xcc 0x80
      const size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      if (k + len <= to) feed_to(k + len);
    }
  }
}

// libvterm's cursor is where the marks would have gone: it gets them again
// on a no-break space, which takes the cell and moves its cursor past it.
void Terminal::Impl::draw_lone_marks() {
  std::array<char, 4 * (Screen::max_marks + 1)> text;
  char* end = put_utf8(text.data(), 0xa0);
  for (size_t k = 0; k < Screen::max_marks && lone_marks[k] != 0; ++k) end = put_utf8(end, lone_marks[k]);
  lone_marks[0] = 0;
  vterm_input_write(vt.get(), text.data(), static_cast<size_t>(end - text.data()));
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
      g_sets[esc_intermediate - '('] = static_cast<char>(c);
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
    case '~':  // LS1R
    case '}':  // LS2R
    case '|':  // LS3R
      gr = c == '~' ? 1 : c == '}' ? 2 : 3;
      break;
    case '7':  // DECSC
      feed_to(i + 1);
      save_cursor();
      break;
    case '8':  // DECRC
      restore_cursor(i);
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

// RIS: libvterm resets its state and erases the grid shown, but says nothing
// of leaving the alternate screen.
void Terminal::Impl::hard_reset(size_t i) {
  feed_to(i + 1);
  screen.set_modes(Modes{});
  screen.erase({0, 0, screen.rows(), screen.cols()}, Color::none());
  saved = {};
  glyph_row = -1;
  last_char = 0;
  g_sets = ascii_sets;
  gl = 0;
  gr = 1;
  origin = false;
  lr_margins = false;
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

Terminal::Terminal(int cols, int rows) : impl_(std::make_unique<Impl>(*this, cols, rows)) {}

Terminal::~Terminal() = default;

void Terminal::write(std::string_view bytes) { impl_->write(bytes); }

void Terminal::resize(int cols, int rows) { impl_->resize(cols, rows); }

const Screen& Terminal::screen() const { return impl_->screen; }

}  // namespace roam::mux
