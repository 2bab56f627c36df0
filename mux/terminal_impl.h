// The inside of mux::Terminal, shared by the files that implement it:
// terminal.cc (the scanner), terminal_csi.cc (the control sequences it acts
// on), terminal_callbacks.cc (libvterm's callbacks), terminal_saved.cc (the
// saved cursor) and terminal_resize.cc (resizes). Nothing else includes it.
#pragma once

#include <vterm.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mux/terminal.h"
#include "protocol/reflow.h"

namespace roam::mux {

inline constexpr int max_csi_args = 16;  // libvterm's CSI_ARGS_MAX
// Pen attributes libvterm 0.1.4 does not know; the scanner keeps them.
inline constexpr uint16_t scanned_attrs = attr_faint | attr_conceal;
// G0-G3 designated ASCII.
inline constexpr std::array<char, 4> ascii_sets{'B', 'B', 'B', 'B'};
inline constexpr char CAN = 0x18;

struct VTermFree {
  void operator()(VTerm* vt) const { vterm_free(vt); }
};

struct Terminal::Impl {
  Impl(Terminal& owner, int cols, int rows);
  void write(std::string_view bytes);
  void resize(int cols, int rows);

  // --- Scanner.
  void process(std::string_view bytes);
  enum class Scan : uint8_t { ground, esc, csi, csi_dropped, string, string_esc };
  enum class StringKind : uint8_t { osc, dcs, ignored };

  void hold_partial_utf8(size_t text_from, size_t& end);
  size_t find_byte(size_t from, int byte) const {
    const void* p = std::memchr(chunk + from, byte, end_of_chunk - from);
    return p ? static_cast<size_t>(static_cast<const char*>(p) - chunk) : end_of_chunk;
  }
  void cut_runs(size_t from, size_t to);
  size_t find_c1(size_t from) const;
  void repeat(size_t i);
  void step(size_t i);
  void esc_byte(size_t i, unsigned char c);
  void csi_byte(size_t i, unsigned char c);
  void string_byte(size_t i, unsigned char c);
  void start_csi();
  void drop_csi(size_t i);
  void dispatch_csi(size_t i, unsigned char final_byte);
  void dec_modes(size_t i, bool set);
  // What an SGR sets that the scanner keeps: attributes of scanned_attrs,
  // the underline colour, a style libvterm does not know, colours set by
  // 38;5;N (48;5;N) below 16; and the arguments libvterm must not see.
  struct SgrScan {
    uint16_t attrs = 0;
    Color ul;
    int underline = -1;  // the last style set, -1: none
    std::optional<Color> fg, bg;
    uint16_t strip = 0;  // a bit per argument
  };
  void sgr(size_t i);
  int sgr_arg(int k, SgrScan& s);
  int underline_color(int k, SgrScan& s);
  void feed_sgr_without(uint16_t strip);
  void start_string(size_t i, StringKind kind);
  void finish_string();
  void hard_reset(size_t i);
  void cancel_csi(size_t i);
  void restore_cursor(size_t i);
  void restore_charsets();
  void save_cursor();
  void move_cursor(int row, int col);  // by CUP, through libvterm
  bool pending_wrap() const;
  void single_width_lines();
  void replay_glyph(int x, int y, bool pending);

  // Hands libvterm the bytes of the current write up to `end`.
  void feed_to(size_t end) {
    if (end > fed) vterm_input_write(vt.get(), chunk + fed, end - fed);
    fed = std::max(fed, end);
    if (lone_marks[0] != 0) draw_lone_marks();
  }
  void draw_lone_marks();
  void feed(std::string_view bytes) { vterm_input_write(vt.get(), bytes.data(), bytes.size()); }

  // --- libvterm callbacks.
  static int on_putglyph(VTermGlyphInfo* info, VTermPos pos, void* user);
  static int on_movecursor(VTermPos pos, VTermPos oldpos, int visible, void* user);
  static int on_scrollrect(VTermRect rect, int downward, int rightward, void* user);
  static int on_moverect(VTermRect dest, VTermRect src, void* user);
  static int on_erase(VTermRect rect, int selective, void* user);
  static int on_initpen(void* user);
  static int on_setpenattr(VTermAttr attr, VTermValue* val, void* user);
  static int on_settermprop(VTermProp prop, VTermValue* val, void* user);
  static int on_bell(void* user);
  static int on_resize(int rows, int cols, VTermPos* delta, void* user);
  static int on_setlineinfo(int row, const VTermLineInfo* newinfo, const VTermLineInfo* oldinfo, void* user);
  static int on_osc(const char* command, size_t len, void* user);
  static void on_output(const char* bytes, size_t len, void* user);
  static const VTermStateCallbacks state_callbacks;
  static const VTermStateCallbacks replay_callbacks;
  static const VTermParserCallbacks fallbacks;

  [[gnu::noinline]] int put_first_glyph(const uint32_t* chars, int width, int row);
  [[gnu::noinline]] int keep_lone_marks(const uint32_t* chars);

  Terminal& owner;
  Screen screen;
  std::unique_ptr<VTerm, VTermFree> vt;
  VTermState* state = nullptr;
  Pen pen;

  // Soft wraps: libvterm 0.1.4 does not say when it wraps, so we remember
  // where the last glyph went. A glyph at column 0 of the next row that
  // could not have fit after it, with no cursor motion between, means the
  // row wrapped.
  int glyph_row = -1;
  int glyph_col = 0;
  int glyph_end = 0;
  uint32_t last_char = 0;  // the last character printed, for REP
  // Combining marks libvterm found no character for (the cursor had moved
  // since the last one), 0-terminated: it gives them no cell and leaves its
  // cursor. The scanner ends libvterm's write after them; they are then
  // drawn on a no-break space, as xterm and mosh do.
  std::array<uint32_t, Screen::max_marks + 1> lone_marks{};

  // The write in progress: chunk[0, fed) is dealt with.
  const char* chunk = nullptr;
  size_t end_of_chunk = 0;
  size_t fed = 0;

  // Scanner state, carried from one write to the next.
  Scan scan = Scan::ground;
  int esc_intermediates = 0;
  unsigned char esc_intermediate = 0;
  // Character sets: what G0-G3 are designated ('B' ASCII, '0' DEC
  // graphics, 'A' UK), which of them is invoked into GL and which into GR.
  std::array<char, 4> g_sets = ascii_sets;
  int gl = 0;
  int gr = 1;
  bool origin = false;      // DECOM
  bool lr_margins = false;  // DECLRMM: CSI s sets margins rather than saving the cursor
  bool csi_leading = false;     // still reading private-marker bytes
  bool csi_intermed = false;    // past the parameters
  unsigned char csi_leader = 0;
  int csi_leaders = 0;
  unsigned char csi_intermediate = 0;
  int csi_intermediates = 0;
  int argc = 0;
  std::array<int32_t, max_csi_args> args{};  // -1: missing
  std::array<bool, max_csi_args> more{};     // followed by ':' (a sub-parameter)
  StringKind string_kind = StringKind::ignored;
  bool string_overflow = false;
  std::string string_buf;    // the whole sequence as libvterm will get it
  // What the saved cursor holds that libvterm does not save.
  struct Saved {
    std::array<char, 4> g_sets = ascii_sets;
    int gl = 0;
    int gr = 1;
    bool origin = false;
    Pen pen;
  };
  Saved saved;
  // Where libvterm's saved cursor (DECSC, 1048, 1049) is, as we follow it: a
  // width change re-wraps the primary grid under libvterm's copy, so a
  // restore after one goes to where the text it was on went.
  GridPos saved_at;
  bool saved_on_primary = true;
  bool saved_moved = false;
  std::array<char, 4> utf8_hold{};  // the start of a character the last write cut
  size_t utf8_held = 0;
  std::string joined;  // utf8_hold and the next write
};

}  // namespace roam::mux
