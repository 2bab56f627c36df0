// The user's terminal for the display tests: libvterm's screen layer, and
// how what it shows differs from a frame.
#pragma once

#include <fmt/format.h>
#include <vterm.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/display.h"
#include "protocol/screen.h"
#include "tests/unit/rows.h"

namespace roam::test {

// The user's terminal: libvterm's screen layer, with what it reports on the
// side (scrollback, bells, title, cursor).
class Vt {
 public:
  Vt(int cols, int rows) : vt_(vterm_new(rows, cols)), cols_(cols), rows_(rows) {
    vterm_set_utf8(vt_.get(), 1);
    screen_ = vterm_obtain_screen(vt_.get());
    static const VTermScreenCallbacks callbacks = {
        .damage = nullptr,
        .moverect = nullptr,
        .movecursor = nullptr,
        .settermprop = &Vt::on_prop,
        .bell = &Vt::on_bell,
        .resize = nullptr,
        .sb_pushline = &Vt::on_push,
        .sb_popline = nullptr,
    };
    vterm_screen_set_callbacks(screen_, &callbacks, this);
    vterm_screen_reset(screen_, 1);
  }

  void feed(std::string_view bytes) { vterm_input_write(vt_.get(), bytes.data(), bytes.size()); }

  VTermScreenCell cell(int x, int y) const {
    VTermScreenCell c;
    vterm_screen_get_cell(screen_, VTermPos{y, x}, &c);
    return c;
  }
  VTermPos cursor() const {
    VTermPos p;
    vterm_state_get_cursorpos(vterm_obtain_state(vt_.get()), &p);
    return p;
  }
  std::string text(int y) const {
    std::string s;
    for (int x = 0; x < cols_; ++x) {
      VTermScreenCell c = cell(x, y);
      if (c.chars[0] == 0xffffffff) continue;
      s += c.chars[0] == 0 ? ' ' : c.chars[0] < 0x80 ? static_cast<char>(c.chars[0]) : '?';
    }
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
  }

  int cols() const { return cols_; }
  int rows() const { return rows_; }

  std::vector<std::string> pushed;  // rows scrolled into the scrollback
  int bells = 0;
  std::string title, icon;
  bool cursor_visible = true, cursor_blink = true;
  int cursor_shape = VTERM_PROP_CURSORSHAPE_BLOCK;
  int mouse = 0;
  bool reverse = false;

 private:
  struct Free {
    void operator()(VTerm* v) const { vterm_free(v); }
  };

  static int on_prop(VTermProp prop, VTermValue* val, void* user) {
    auto* self = static_cast<Vt*>(user);
    switch (prop) {
      case VTERM_PROP_CURSORVISIBLE: self->cursor_visible = val->boolean; break;
      case VTERM_PROP_CURSORBLINK: self->cursor_blink = val->boolean; break;
      case VTERM_PROP_CURSORSHAPE: self->cursor_shape = val->number; break;
      case VTERM_PROP_TITLE: self->title = val->string; break;
      case VTERM_PROP_ICONNAME: self->icon = val->string; break;
      case VTERM_PROP_MOUSE: self->mouse = val->number; break;
      case VTERM_PROP_REVERSE: self->reverse = val->boolean; break;
      default: break;
    }
    return 1;
  }
  static int on_bell(void* user) {
    ++static_cast<Vt*>(user)->bells;
    return 1;
  }
  static int on_push(int cols, const VTermScreenCell* cells, void* user) {
    std::string s;
    for (int x = 0; x < cols; ++x) {
      if (cells[x].chars[0] == 0xffffffff) continue;
      s += cells[x].chars[0] == 0 ? ' ' : cells[x].chars[0] < 0x80 ? static_cast<char>(cells[x].chars[0]) : '?';
    }
    s.erase(s.find_last_not_of(' ') + 1);
    static_cast<Vt*>(user)->pushed.push_back(s);
    return 1;
  }

  std::unique_ptr<VTerm, Free> vt_;
  VTermScreen* screen_;
  int cols_, rows_;
};

inline bool same_color(Color want, const VTermColor& got, bool fg) {
  switch (want.kind()) {
    case Color::default_color: return fg ? VTERM_COLOR_IS_DEFAULT_FG(&got) : VTERM_COLOR_IS_DEFAULT_BG(&got);
    case Color::indexed:
    case Color::palette:
      return VTERM_COLOR_IS_INDEXED(&got) && got.indexed.idx == want.value() && !(got.type & VTERM_COLOR_DEFAULT_MASK);
    case Color::rgb:
      return VTERM_COLOR_IS_RGB(&got) && !(got.type & VTERM_COLOR_DEFAULT_MASK) &&
             (uint32_t{got.rgb.red} << 16 | uint32_t{got.rgb.green} << 8 | got.rgb.blue) == want.value();
  }
  return false;
}

// Empty when the terminal shows `frame` (cut or padded to the terminal's
// size) with its cursor; else where they differ.
inline std::string mismatch(const Vt& t, const Screen& frame) {
  for (int y = 0; y < t.rows(); ++y) {
    for (int x = 0; x < t.cols(); ++x) {
      Cell want;
      std::u32string marks;
      if (y < frame.rows() && x < frame.cols()) {
        const Row& r = frame.row(y);
        want = r.cells[x];
        for (const auto& [col, m] : r.marks)
          if (col == x) marks = m;
        if (want.width == 2 && x == t.cols() - 1) {  // cut by the terminal's edge
          want = Cell{0, {}, want.bg, 0, 1};
          marks.clear();
        }
      }
      if (want.ch == Cell::wide_tail) continue;
      const VTermScreenCell got = t.cell(x, y);
      const uint32_t want_ch = want.ch == 0 ? ' ' : want.ch;
      const uint32_t got_ch = got.chars[0] == 0 ? ' ' : got.chars[0];
      std::u32string got_marks;
      for (int i = 1; got.chars[0] && i < VTERM_MAX_CHARS_PER_CELL && got.chars[i]; ++i)
        got_marks += static_cast<char32_t>(got.chars[i]);
      // libvterm 0.1.4 shows dotted and dashed underlines (4:4, 4:5) as single.
      const int style = (want.attrs & roam::attr_underline_mask) >> roam::attr_underline_shift;
      const int underline = style > roam::underline_curly ? roam::underline_single : style;
      const bool reverse = !!(want.attrs & roam::attr_reverse) != t.reverse;  // libvterm flips it by DECSCNM
      const std::pair<const char*, bool> checks[] = {
          {"char", want_ch == got_ch},
          {"marks", marks == got_marks},
          {"width", want.width == got.width},
          {"bold", !!(want.attrs & roam::attr_bold) == !!got.attrs.bold},
          {"italic", !!(want.attrs & roam::attr_italic) == !!got.attrs.italic},
          {"underline", underline == static_cast<int>(got.attrs.underline)},
          {"blink", !!(want.attrs & roam::attr_blink) == !!got.attrs.blink},
          {"reverse", reverse == !!got.attrs.reverse},
          {"strike", !!(want.attrs & roam::attr_strike) == !!got.attrs.strike},
          {"fg", same_color(want.fg, got.fg, true)},
          {"bg", same_color(want.bg, got.bg, false)},
      };
      for (const auto& [what, ok] : checks)
        if (!ok)
          return fmt::format("{} at ({}, {}): want U+{:04X} got U+{:04X}; row {:?} shows {:?}", what, x, y, want_ch,
                             got_ch, y < frame.rows() ? text(frame.row(y)) : "", t.text(y));
    }
  }
  const Cursor& c = frame.cursor();
  if (c.visible != t.cursor_visible) return fmt::format("cursor visible {} want {}", t.cursor_visible, c.visible);
  if (c.visible) {
    const VTermPos p = t.cursor();
    const int want_x = std::min(c.x, t.cols() - 1), want_y = std::min(c.y, t.rows() - 1);
    if (p.col != want_x || p.row != want_y)
      return fmt::format("cursor at ({}, {}) want ({}, {})", p.col, p.row, want_x, want_y);
  }
  const int shape = c.shape == CursorShape::block       ? VTERM_PROP_CURSORSHAPE_BLOCK
                    : c.shape == CursorShape::underline ? VTERM_PROP_CURSORSHAPE_UNDERLINE
                                                        : VTERM_PROP_CURSORSHAPE_BAR_LEFT;
  if (t.cursor_shape != shape || t.cursor_blink != c.blink) return "cursor shape";
  return {};
}

inline void put(Screen& s, int x, int y, uint32_t ch, const Pen& pen = {}, int width = 1, uint32_t mark = 0) {
  const uint32_t chars[3] = {ch, mark, 0};
  s.put(x, y, chars, width, pen);
}

inline void write(Screen& s, int x, int y, std::string_view text, const Pen& pen = {}) {
  for (char c : text) put(s, x++, y, static_cast<unsigned char>(c), pen);
}

// A display and the terminal it draws on, opened.
struct Setup {
  Setup(int cols, int rows) : t(cols, rows), d(cols, rows) {
    t.feed(d.open());
    t.pushed.clear();
  }
  std::string draw(const Screen& frame) {
    std::string out;
    d.draw(frame, out);
    t.feed(out);
    return out;
  }
  Vt t;
  client::Display d;
};

// The most parameters (sub-parameters included) of any CSI sequence in `s`.
inline int max_csi_args(std::string_view s) {
  int most = 0;
  for (size_t at = s.find("\x1b["); at != std::string_view::npos; at = s.find("\x1b[", at + 2)) {
    int n = 1;
    for (size_t i = at + 2; i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7e); ++i) n += s[i] == ';' || s[i] == ':';
    most = std::max(most, n);
  }
  return most;
}

inline bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

inline size_t count(std::string_view s, std::string_view part) {
  size_t n = 0;
  for (size_t at = s.find(part); at != std::string_view::npos; at = s.find(part, at + part.size())) ++n;
  return n;
}

}  // namespace roam::test
