#include "client/tty_writer.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace roam::client {

TtyWriter::TtyWriter(uv_loop_t* loop, int fd) : fd_(fd) {
  pollable_ = uv_poll_init(loop, poll_.get(), fd) == 0;
  poll_.get()->data = this;
}

void TtyWriter::write(std::string_view bytes) {
  if (gone_) return;
  if (!busy()) {
    // Most frames go out at once: copy only what the terminal did not take.
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n > 0) bytes.remove_prefix(static_cast<size_t>(n));
      else if (!(n < 0 && errno == EINTR)) break;
    }
    if (bytes.empty()) return;
    pending_.clear();
    offset_ = 0;
  }
  pending_.append(bytes);
  flush();
}

void TtyWriter::flush() {
  while (busy()) {
    const ssize_t n = ::write(fd_, pending_.data() + offset_, pending_.size() - offset_);
    if (n > 0) {
      offset_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && pollable_) {
      watch(true);
      return;
    }
    gone_ = true;  // hung up, or an error no waiting will cure
    pending_.clear();
    offset_ = 0;
    break;
  }
  watch(false);
}

void TtyWriter::watch(bool on) {
  if (on == watching_ || !pollable_) return;
  watching_ = on;
  if (!on) {
    uv_poll_stop(poll_.get());
    return;
  }
  uv_poll_start(poll_.get(), UV_WRITABLE, [](uv_poll_t* h, int, int) {
    auto* self = static_cast<TtyWriter*>(h->data);
    self->flush();
    if (!self->busy() && self->on_drained) self->on_drained();
  });
}

void TtyWriter::drain() {
  while (busy() && !gone_) {
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
    flush();
  }
  watch(false);
}

}  // namespace roam::client
