// What a terminal shows: a grid of cells, the cursor, the title and the modes
// a client must mirror. The server's terminal (mux) writes it; the client
// keeps its own copy and applies network diffs to it, so this knows nothing
// of libvterm or of the network.
//
// Rows live in a ring: scrolling the whole screen by n touches n rows, never
// the rest of the grid; scrolling a band of full-width rows swaps row objects
// (a few pointers each), never cells. Every row carries a version drawn from
// one counter per screen, so a version value names one content of one row: a
// row gets a new version whenever its content changes, and keeps it when it
// merely moves (a scroll), which lets a diff spot moved rows without
// comparing cells. Writes and erases that leave a row exactly as it was keep
// its version; rows scrolled in, rows written by a part-width move, and every
// row after resize() or an alternate-screen switch get new versions even if
// their content did not change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/cell.h"
#include "protocol/limits.h"
#include "protocol/reflow.h"

namespace roam {

enum class CursorShape : uint8_t { block, underline, bar };

struct Cursor {
  int x = 0, y = 0;
  bool visible = true;
  bool blink = true;
  CursorShape shape = CursorShape::block;
  friend bool operator==(const Cursor&, const Cursor&) = default;
};

enum class MouseTracking : uint8_t { none, click, drag, motion };  // off, 1000, 1002, 1003
enum class MouseEncoding : uint8_t { x10, utf8, sgr, urxvt };      // default, 1005, 1006, 1015

struct Modes {
  bool alternate_screen = false;  // 1047/1049; switching it swaps the grids
  bool app_cursor_keys = false;   // DECCKM, ?1
  bool app_keypad = false;        // DECKPAM (ESC =) / DECKPNM (ESC >), DECNKM ?66
  bool bracketed_paste = false;   // ?2004
  bool focus_events = false;      // ?1004
  bool reverse_video = false;     // DECSCNM, ?5
  MouseTracking mouse_tracking = MouseTracking::none;
  MouseEncoding mouse_encoding = MouseEncoding::x10;
  friend bool operator==(const Modes&, const Modes&) = default;
};

// The last OSC 52 "set selection" request. The data stays base64 as the
// program sent it: the client hands it to its own terminal the same way.
struct Clipboard {
  std::string selection;  // xterm's Pc: letters from "cpqs01234567"
  std::string base64;     // validated base64 alphabet, at most max_clipboard bytes
  uint32_t serial = 0;    // bumped on every set, so setting the same text twice shows
  friend bool operator==(const Clipboard&, const Clipboard&) = default;
};

// Cells in rows [top, bottom) and columns [left, right).
struct Rect {
  int top = 0, left = 0, bottom = 0, right = 0;
};

class Screen {
 public:
  static constexpr int max_cols = limits::max_cols;
  static constexpr int max_rows = limits::max_rows;
  static constexpr size_t max_title = 4096;       // bytes, cut at a UTF-8 boundary
  static constexpr size_t max_clipboard = 1 << 20;  // bytes of base64
  static constexpr size_t max_marks = 16;          // combining marks kept per cell

  // Sizes are clamped to [1, max_cols] x [1, max_rows].
  Screen(int cols, int rows);

  int cols() const { return cols_; }
  int rows() const { return rows_; }
  // Row y, 0 <= y < rows(), as shown.
  const Row& row(int y) const { return *line(y).row; }
  uint64_t version(int y) const { return line(y).version; }

  // --- Grid operations. Coordinates outside the screen are clipped; a wide
  // character cut in half by any of them leaves a blank cell, never a half.

  // Writes one glyph at (x, y): chars is the base character (not 0) followed
  // by its combining marks, 0-terminated; width is 1 or 2 columns.
  void put(int x, int y, const uint32_t* chars, int width, const Pen& pen) {
    // Inline, the common case: one narrow character over another.
    if (width == 1 && chars[1] == 0 && static_cast<unsigned>(x) < static_cast<unsigned>(cols_) &&
        static_cast<unsigned>(y) < static_cast<unsigned>(rows_)) {
      Line& l = line(y);
      const Cell& c = l.row->cells[x];
      if (c.width == 1 && c.ch != Cell::wide_tail && l.row->marks.empty()) {
        const Cell cell{chars[0], pen.fg, pen.bg, pen.attrs, 1, pen.ul};
        if (c != cell) {
          edit(l).cells[x] = cell;
          touch(l);
        }
        return;
      }
    }
    put_any(x, y, chars, width, pen);
  }
  // Blanks r with background bg (as xterm's back-colour erase does).
  void erase(Rect r, Color bg);
  // Moves the content of r by dy rows and dx columns (dy < 0: up), dropping
  // what leaves r and blanking, with bg, what it uncovers.
  void scroll(Rect r, int dy, int dx, Color bg);
  // Copies the cells of src to dest, which has the same size.
  void move(Rect dest, Rect src);
  void set_wrapped(int y, bool wrapped);
  // Replaces row y's content (cells beyond cols() dropped, missing ones blank).
  void set_row(int y, const Row& row);

  // What a resize carries along with the text, beside the cursor.
  struct Carried {
    // In and out: the cursor stands on the glyph that filled its row, the
    // wrap still to come (see GridPos::pending_wrap).
    bool cursor_pending_wrap = false;
    // Places on the primary grid, shown or hidden behind the alternate one:
    // moved as the cursor is.
    std::span<GridPos> primary_places;
  };
  // Changes the size much as tmux does. A width change re-wraps the lines
  // of the primary grid (see Reflow), the cursor keeping its place in its
  // line; the alternate grid's columns are cut or added on the right.
  // Losing rows then drops blank rows below the cursor first, then rows
  // above it off the top, then rows off the bottom; rows leaving the top of
  // the primary grid (shown or hidden) go to `scrolled_off`, in order.
  // Returns how many rows the shown grid lost off its top.
  int resize(int cols, int rows, const std::function<void(const Row&)>& scrolled_off = {}, Carried* carried = nullptr);

  // --- Everything else a client mirrors.
  const Cursor& cursor() const { return cursor_; }
  void set_cursor(const Cursor& c);  // position clamped to the screen

  const Modes& modes() const { return modes_; }
  // Changing alternate_screen swaps the grids; the alternate grid keeps its
  // old content until the caller erases it.
  void set_modes(const Modes& m);

  const std::string& title() const { return title_; }
  const std::string& icon_name() const { return icon_name_; }
  // Only printable text is kept (append_printable: no C0, DEL or C1, raw
  // or encoded), cut to max_title bytes.
  void set_title(std::string_view title);
  void set_icon_name(std::string_view name);

  uint32_t bell_count() const { return bell_count_; }
  void ring_bell() { ++bell_count_; }
  // For copies of another screen (the client's): take its count as it is.
  void set_bell_count(uint32_t count) { bell_count_ = count; }

  const Clipboard& clipboard() const { return clipboard_; }
  // Refuses (returns false) data that is not base64 or too long, and
  // selections outside xterm's alphabet; an empty selection means "s0".
  bool set_clipboard(std::string_view selection, std::string_view base64);
  // For copies of another screen: the same checks, and its serial as it is.
  bool set_clipboard(std::string_view selection, std::string_view base64, uint32_t serial);

  // Same shown content, cursor, modes, title, icon name, bell count and
  // clipboard. Versions and the hidden grid are not compared.
  friend bool operator==(const Screen& a, const Screen& b);

  // Copies share their rows until one of them changes a row (copy on
  // write, as mosh's framebuffer does), so keeping many states of a screen
  // costs little. Assigning a screen to one of the same size allocates
  // nothing; a row made a copy's own comes from a per-thread pool of rows
  // that no screen uses any more.
  Screen(const Screen&) = default;
  Screen(Screen&&) noexcept = default;
  Screen& operator=(const Screen& o);
  Screen& operator=(Screen&& o) noexcept;
  ~Screen();

  // Same content by version, without comparing cells: true means equal (as
  // operator== says), false may still be equal. For an earlier copy of this
  // same screen, false means something changed since.
  bool same_versions(const Screen& o) const;

  // The memory its rows hold, a row that n screens share counted 1/n in
  // each: summed over screens, roughly what they hold together.
  size_t held_bytes() const;

 private:
  struct Line {
    std::shared_ptr<Row> row;
    uint64_t version = 0;
  };
  // l's row, made this screen's own first if copies share it.
  Row& edit(Line& l) {
    if (l.row.use_count() != 1) copy_row(l);
    return *l.row;
  }
  // l's row, this screen's own, without marks or wrap, its cells for the
  // caller to set: nothing of what it held is copied.
  Row& fresh(Line& l) {
    if (l.row.use_count() != 1) l.row = pooled_row();
    l.row->marks.clear();
    l.row->wrapped = false;
    return *l.row;
  }
  void copy_row(Line& l);
  static std::shared_ptr<Row> pooled_row();
  // Gives back the rows only this screen holds, for other screens to reuse.
  static void recycle(std::vector<Line>& lines);
  // Lines in a ring: visible row y is lines[(origin + y) % rows].
  struct Grid {
    std::vector<Line> lines;
    int origin = 0;
  };

  Line& line(int y) {
    int i = active_.origin + y;
    return active_.lines[i >= rows_ ? i - rows_ : i];
  }
  const Line& line(int y) const {
    int i = active_.origin + y;
    return active_.lines[i >= rows_ ? i - rows_ : i];
  }
  // One counter for every screen of the thread (roam is single-threaded), so
  // a version never names rows of two unrelated screens: a diff against
  // another screen's history sends every row instead of trusting a match.
  static inline thread_local uint64_t last_version_ = 0;
  void touch(Line& l) { l.version = ++last_version_; }
  void put_any(int x, int y, const uint32_t* chars, int width, const Pen& pen);
  void clear_line(Line& l, Color bg);
  void scroll_lines(int top, int bottom, int dy, Color bg);
  Grid make_grid();
  // Both return how many rows left g's top. keep_row < 0: g has no cursor.
  int resize_grid(Grid& g, int cols, int rows, int keep_row,
                  const std::function<void(const Row&)>* scrolled_off);
  int reflow_grid(Grid& g, int cols, int rows, GridPos* cursor, std::span<GridPos> places,
                  const std::function<void(const Row&)>* scrolled_off);

  int cols_, rows_;
  Grid active_, hidden_;  // hidden_: the grid not shown (empty until first used)
  Cursor cursor_;
  Modes modes_;
  std::string title_, icon_name_;
  uint32_t bell_count_ = 0;
  Clipboard clipboard_;
};

}  // namespace roam
