// SGR (Select Graphic Rendition) sequences for a pen, for anything that draws
// cells on a real terminal: the client's display, `roam history --ansi`.
#pragma once

#include <string>

#include "protocol/cell.h"

namespace roam {

// Appends one sequence that resets and then sets everything `pen` has.
void append_sgr(const Pen& pen, std::string& out);

// Appends `row` as UTF-8: wide characters once, never-written cells as
// spaces, trailing default blanks dropped. With `ansi`, SGR sequences set
// each run's pen and the line ends with a reset if any was set.
void append_row_text(const Row& row, bool ansi, std::string& out);

}  // namespace roam
