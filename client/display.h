// Draws a session's screen on the user's real terminal. Display remembers what
// it last drew and turns the terminal into each new frame with as little
// output as it can: changed cells only, SGR only when the pen changes, a real
// scroll when the frame scrolled, each frame inside DEC synchronized output
// (mode 2026) with the cursor hidden while painting.
//
// It draws on the terminal's primary screen, never its alternate one, and
// puts nothing into the terminal's own scrollback but what push_history()
// is given.
//
// Display only produces bytes; the caller writes them to the tty. They mean
// the same whether or not the tty turns LF into CR LF.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "protocol/screen.h"

namespace roam::client {

struct Overlay;

class Display {
 public:
  // The local terminal's size.
  explicit Display(int cols, int rows);
  int cols() const { return cols_; }

  // What takes over the terminal: pushes the user's screen up into the
  // scrollback and leaves the cursor at the top of a blank screen.
  std::string open();

  // Appends to `out` what turns the terminal from the last drawn frame into
  // `frame`. A frame of another size than the terminal is cut or padded with
  // blanks. The first draw after open() or invalidate() repaints everything;
  // bells and clipboard sets that happened before it are not replayed.
  // `overlay` (predicted echo) is drawn over the frame, which is not changed.
  void draw(const Screen& frame, std::string& out, const Overlay* overlay = nullptr);

  // Appends to the terminal's own scrollback the given lines, in order, and
  // leaves the screen to the next draw(), which must follow at once: both
  // are one synchronized update. Lines wider than the terminal are cut.
  void push_history(std::span<const Row> lines, std::string& out);

  // The terminal's content is unknown (Ctrl-L, garbage): repaint everything.
  void invalidate();
  // The terminal changed size; implies invalidate().
  void resize(int cols, int rows);

  // Gives the terminal back: resets every mode the session turned on, the
  // pen, the scroll region, the cursor's shape and visibility, restores the
  // title, and leaves the cursor on the line below the drawn content.
  std::string close();

 private:
  struct Shown {
    Row row;             // what the terminal shows, cols() cells
    uint64_t hash = 0;   // of row, to find where a scrolled row went
    bool known = false;  // false: unknown content, repaint it whole
  };

  void forget_session();  // the terminal has none of the session's modes
  const Row& target(const Screen& frame, int y);
  void fit(const Row& src, Row& out) const;
  void lay_over(const Screen& frame, const Overlay& overlay);
  void mirror(const Screen& frame, bool full, std::string& out);
  void scroll_if_worth_it(const Screen& frame, std::string& out);
  void scroll(int top, int bottom, int k, bool history, std::string& out);
  void paint_row(int y, const Row& want, std::string& out);
  int write_cell(const Row& row, int x, std::string& out);
  void begin_paint(std::string& out);
  void move_to(int x, int y, std::string& out);
  void set_pen(const Pen& pen, std::string& out);
  void place_cursor(const Cursor& c, bool full, std::string& out);

  int cols_ = 0, rows_ = 0;
  std::vector<Shown> shown_;

  // The terminal's state as far as we know. cx_/cy_ -1: unknown (after a
  // write to the last column the terminal may be waiting to wrap).
  int cx_ = -1, cy_ = -1;
  Pen pen_;
  bool pen_known_ = false;
  bool cursor_visible_ = true;
  bool painting_ = false;  // this draw wrote cells, so it is synchronized
  bool pushed_history_ = false;  // push_history began a synchronized update
  Cursor shape_;           // shape and blink as last set; Cursor{} is the terminal's default
  Modes modes_;            // as mirrored; alternate_screen is never mirrored
  std::string title_, icon_name_;
  bool fresh_ = true;        // the next draw is a full paint
  bool seen_frame_ = false;  // bell and clipboard baselines are set
  uint32_t bells_ = 0, clipboard_serial_ = 0;

  // Scratch space, reused so drawing allocates nothing per frame.
  std::vector<Row> clipped_;  // frame rows cut or padded to our size
  std::vector<Row> overlaid_;      // target rows with the overlay's cells
  std::vector<char> has_overlay_;  // row y of overlaid_ is the target
  std::vector<std::pair<uint64_t, int>> by_hash_;
  std::vector<int> votes_;
  std::vector<char> same_;  // row y of the frame is what the terminal shows
  std::string sgr_full_, sgr_change_;
  Row pushed_;  // a line for push_history, cut or padded to our width
};

}  // namespace roam::client
