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
  // Around a suspend: the original settings for the shell, then raw again
  // (whatever the shell left behind).
  void restore();
  bool enter();

 private:
  int fd_;
  std::optional<termios> saved_;
};

// The terminal's file status flags as we found them. Our stdin watcher
// makes the file description non-blocking, and stdout shares it: the shell
// after us (or while we are suspended) must get it back as it was.
class FileFlags {
 public:
  explicit FileFlags(int fd);
  ~FileFlags() { restore(); }
  FileFlags(const FileFlags&) = delete;
  FileFlags& operator=(const FileFlags&) = delete;
  void restore();
  void non_blocking();

 private:
  int fd_;
  int saved_;
};

}  // namespace roam::client
