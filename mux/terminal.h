// The terminal emulator of one session: bytes a program writes to its pty go
// in (parsed by libvterm's state layer), our Screen comes out, along with the
// rows that scroll off the top and the answers the terminal owes the program.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "protocol/cell.h"
#include "protocol/screen.h"

namespace roam::mux {

class Terminal {
 public:
  Terminal(int cols, int rows);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // Bytes the program wrote to the pty, in any chunking.
  void write(std::string_view bytes);
  void resize(int cols, int rows);
  const Screen& screen() const;

  // Each row that leaves the top of the primary screen (never the alternate
  // one), in order: scrolled off by a scroll region whose top is row 0, or
  // pushed off by a resize that takes rows away.
  std::function<void(const Row&)> on_scrollback;
  // Bytes the terminal answers the program with (DA, DSR...), for the pty.
  std::function<void(std::string_view)> on_reply;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roam::mux
