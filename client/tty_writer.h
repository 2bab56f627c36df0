// Output to the user's terminal that never blocks the loop and never drops
// a byte. The terminal's file description is shared with stdin, which the
// loop's watcher makes non-blocking, so a slow terminal (a busy emulator, a
// slow ssh hop to the laptop) answers EAGAIN: what it could not take waits
// here, in order, and goes out as soon as it can. The caller draws nothing
// new while busy(); its next frame, drawn on_drained, is a diff against
// everything queued, which is what the terminal will have shown.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <string_view>

#include "protocol/uv_handle.h"

namespace roam::client {

class TtyWriter {
 public:
  TtyWriter(uv_loop_t* loop, int fd);

  // Writes what it can now; the rest waits for the terminal.
  void write(std::string_view bytes);
  bool busy() const { return offset_ < pending_.size(); }
  // Everything queued has been written (after being busy).
  std::function<void()> on_drained;

  // Writes everything queued, waiting for the terminal as long as it
  // takes: on the way out, or before handing the terminal to the shell.
  void drain();
  // The terminal is gone (hung up): nothing more will be written.
  bool gone() const { return gone_; }
  void close() {
    poll_.close();
    pollable_ = watching_ = false;
  }

 private:
  void flush();
  void watch(bool on);

  int fd_;
  std::string pending_;
  size_t offset_ = 0;  // pending_ is written up to here
  UvHandle<uv_poll_t> poll_;
  bool pollable_ = false;  // a regular file cannot be polled, nor does it need to be
  bool watching_ = false;
  bool gone_ = false;
};

}  // namespace roam::client
