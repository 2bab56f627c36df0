// The user's terminal: raw mode for the session's duration, its size.
#pragma once

#include <termios.h>

#include <optional>

namespace roam::client {

struct TerminalSize {
  int cols = 80, rows = 24;
};

// The size of the terminal on `fd`, if it is one.
std::optional<TerminalSize> terminal_size(int fd);

// Raw mode while alive: every byte reaches us (Ctrl-C included), nothing is
// echoed. The original settings come back on destruction, whatever happened.
class RawMode {
 public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
  bool active() const { return saved_.has_value(); }

 private:
  int fd_;
  std::optional<termios> saved_;
};

}  // namespace roam::client
