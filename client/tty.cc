#include "client/tty.h"

#include <fcntl.h>
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
  if (!enter()) saved_.reset();
}

RawMode::~RawMode() { restore(); }

bool RawMode::enter() {
  if (!saved_) return false;
  termios t = *saved_;
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  return tcsetattr(fd_, TCSANOW, &t) == 0;
}

void RawMode::restore() {
  if (saved_) tcsetattr(fd_, TCSADRAIN, &*saved_);
}

FileFlags::FileFlags(int fd) : fd_(fd), saved_(fcntl(fd, F_GETFL)) {}

void FileFlags::restore() {
  if (saved_ >= 0) fcntl(fd_, F_SETFL, saved_);
}

void FileFlags::non_blocking() {
  if (saved_ >= 0) fcntl(fd_, F_SETFL, saved_ | O_NONBLOCK);
}

}  // namespace roam::client
