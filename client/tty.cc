#include "client/tty.h"

#include <sys/ioctl.h>
#include <unistd.h>

namespace roam::client {

std::optional<TerminalSize> terminal_size(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0) return std::nullopt;
  return TerminalSize{ws.ws_col, ws.ws_row};
}

RawMode::RawMode(int fd) : fd_(fd) {
  termios t;
  if (tcgetattr(fd, &t) != 0) return;
  saved_ = t;
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(fd, TCSANOW, &t) != 0) saved_.reset();
}

RawMode::~RawMode() {
  if (saved_) tcsetattr(fd_, TCSADRAIN, &*saved_);
}

}  // namespace roam::client
