// SGR (Select Graphic Rendition) sequences for a pen, for anything that draws
// cells on a real terminal: the client's display, `roam history --ansi`.
// No sequence carries more than 16 parameters: libvterm 0.1.4 writes past
// its array beyond that, and st drops the rest.
#pragma once

#include <string>

#include "protocol/cell.h"

namespace roam {

// Appends `v` in decimal, allocation-free: the numbers inside escape sequences.
void append_decimal(unsigned v, std::string& out);

// Appends SGR that resets and then sets everything `pen` has.
void append_sgr(const Pen& pen, std::string& out);
// Appends SGR that turns `from` into `to` without a reset.
void append_sgr_change(const Pen& from, const Pen& to, std::string& out);

// Appends `row` as UTF-8: wide characters once, never-written cells as
// spaces, trailing default blanks dropped. With `ansi`, SGR sequences set
// each run's pen and the line ends with a reset if any was set.
void append_row_text(const Row& row, bool ansi, std::string& out);

}  // namespace roam
