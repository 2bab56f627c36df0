// Rows re-wrapped to a new width, as tmux's grid_reflow does it: a line (a
// run of rows joined by their wrapped flag) is laid out again at the new
// width, so narrowing splits its rows and widening joins them. Wide
// characters move whole to the next row rather than split (the cell left
// over stays blank), combining marks go with their cell, and the padding a
// wide character left at the end of a wrapped row is dropped. Places (the
// cursor, a saved cursor) move with the cell they are on.
//
// Planning counts rows without copying a cell; write() then makes only the
// rows asked for, so the rows of a huge re-wrap that go straight to history
// never exist all at once. Both are O(cells).
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "protocol/cell.h"

namespace roam {

// A place in a grid that moves with the text it is on.
struct GridPos {
  int x = 0, y = 0;
  // The place stands on the glyph at x that filled its row, with the wrap
  // to the next row still to come (a terminal's pending wrap): it means the
  // position just past that glyph.
  bool pending_wrap = false;
  friend bool operator==(const GridPos&, const GridPos&) = default;
};

class Reflow {
 public:
  // Plans `rows` (all of one width) re-wrapped to `cols` columns, and moves
  // each of `places` (y indexes `rows`) to where its cell goes. A place past
  // the text of its line stays as far past it as fits; one just past a
  // line whose last row is full is on that row's last glyph, pending wrap.
  // `rows` must stay as they are until the last write().
  Reflow(std::span<const Row> rows, int cols, std::span<GridPos> places);

  int size() const { return size_; }  // rows after re-wrapping
  // How many of the last rows are blank (as a never-written row is).
  int blank_at_end() const { return blank_at_end_; }

  // Re-wrapped rows [first, last), in order, each `cols` cells wide, handed
  // to `out`, which may move from them.
  void write(int first, int last, const std::function<void(Row&)>& out) const;

 private:
  struct Line {
    int first_row, end_row;  // its rows in the input
    int out_row;             // its first row in the output
  };
  std::span<const Row> rows_;
  int cols_;
  std::vector<Line> lines_;
  int size_ = 0;
  int blank_at_end_ = 0;
};

}  // namespace roam
