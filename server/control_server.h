// The daemon's side of the control socket: accepts local connections from
// the same uid only, reads one request each and lets a handler answer it.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <vector>

#include "protocol/uv_handle.h"
#include "server/control_protocol.h"

namespace roam::server {

class ControlConnection {
 public:
  void send(const Response& r);
  // For long answers: called again whenever what was sent has mostly drained,
  // until it returns false. Keeps a slow reader from growing our memory.
  void stream(std::function<bool(ControlConnection&)> producer);
  // Closes once everything queued is written.
  void finish();

  struct Token {};
  ControlConnection(Token, uv_loop_t* loop, std::function<void(ControlConnection&, Request)>& handler,
                    std::function<void()> on_gone);
  ~ControlConnection();

  uv_stream_t* stream_handle() { return pipe_.stream(); }
  // Reads the request, then answers `refusal` instead of handling it (so the
  // peer reads our answer rather than a connection reset).
  void start(std::string refusal = {});
  bool closed() const { return closed_; }

 private:
  void on_read(ssize_t n, const uv_buf_t* buf);
  void after_write();
  void pump();
  void close();

  std::function<void(ControlConnection&, Request)>& handler_;
  std::function<void()> on_gone_;
  UvHandle<uv_pipe_t> pipe_;
  UvHandle<uv_timer_t> timer_;
  std::vector<uint8_t> in_;
  std::string refusal_;
  std::function<bool(ControlConnection&)> producer_;
  size_t writes_in_flight_ = 0;
  bool got_request_ = false;
  bool finishing_ = false;
  bool closed_ = false;
};

class ControlServer {
 public:
  // `listen_fd` is a bound, listening unix stream socket.
  ControlServer(uv_loop_t* loop, int listen_fd, std::function<void(ControlConnection&, Request)> handler);
  ~ControlServer();
  size_t connections() const { return connections_.size(); }
  void stop() { listener_.close(); }

 private:
  void accept();

  uv_loop_t* loop_;
  std::function<void(ControlConnection&, Request)> handler_;
  UvHandle<uv_pipe_t> listener_;
  // Closed connections are destroyed after the callbacks that closed them return.
  UvHandle<uv_check_t> sweep_;
  std::vector<std::unique_ptr<ControlConnection>> connections_;
};

}  // namespace roam::server
