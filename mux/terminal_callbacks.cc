// libvterm's callbacks: what its state layer does, written into our Screen.
// They return 1: "handled, do nothing more".
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "mux/terminal_impl.h"

namespace roam::mux {
namespace {

Color to_color(const VTermColor& c, bool foreground) {
  if (foreground ? VTERM_COLOR_IS_DEFAULT_FG(&c) : VTERM_COLOR_IS_DEFAULT_BG(&c)) return Color::none();
  if (VTERM_COLOR_IS_INDEXED(&c)) return Color::index(c.indexed.idx);
  return Color::from_rgb(c.rgb.red, c.rgb.green, c.rgb.blue);
}

void set_flag(uint16_t& attrs, uint16_t flag, bool on) { attrs = on ? attrs | flag : attrs & ~flag; }

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
  if (width < 1) return t.keep_lone_marks(chars);
  t.glyph_row = row;
  t.glyph_col = col;
  t.glyph_end = col + width;
  t.last_char = chars[0];
  t.screen.put(col, row, chars, width, t.pen);
  return 1;
}

int Terminal::Impl::put_first_glyph(const uint32_t* chars, int width, int row) {
  if (width < 1) return keep_lone_marks(chars);
  if (glyph_row >= 0 && glyph_row == row - 1 && glyph_end + width > screen.cols())
    screen.set_wrapped(glyph_row, true);
  glyph_row = row;
  glyph_col = 0;
  glyph_end = width;
  last_char = chars[0];
  screen.put(0, row, chars, width, pen);
  return 1;
}

int Terminal::Impl::keep_lone_marks(const uint32_t* chars) {
  size_t n = 0;
  for (; n < Screen::max_marks && chars[n] != 0; ++n) lone_marks[n] = chars[n];
  lone_marks[n] = 0;
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

// DECSED and DECSEL (selective) leave the cells DECSCA protected; the
// other erases take them too.
int Terminal::Impl::on_erase(VTermRect rect, int selective, void* user) {
  auto& t = *static_cast<Impl*>(user);
  if (!selective) {
    t.screen.erase({rect.start_row, rect.start_col, rect.end_row, rect.end_col}, t.pen.bg);
    return 1;
  }
  const int right = std::min(rect.end_col, t.screen.cols());
  for (int y = std::max(rect.start_row, 0); y < std::min(rect.end_row, t.screen.rows()); ++y) {
    // Read afresh after each erase, which may give the row a new copy.
    const auto open = [&](int x) { return !(t.screen.row(y).cells[x].attrs & attr_protected); };
    for (int x = std::max(rect.start_col, 0); x < right;) {
      int end = x;
      while (end < right && open(end)) ++end;
      if (end > x) t.screen.erase({y, x, y + 1, end}, t.pen.bg);
      x = end + 1;
    }
  }
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
                                        ((val->number & 7) << attr_underline_shift));
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

}  // namespace roam::mux
