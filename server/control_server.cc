#include "server/control_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "server/log.h"

namespace roam::server {

namespace {

// A client that connects and never finishes its request is dropped.
constexpr uint64_t request_timeout_ms = 10'000;
// Streaming pauses while this much is queued for the socket.
constexpr size_t stream_high_water = 256 * 1024;

struct WriteReq {
  uv_write_t req;
  std::vector<uint8_t> bytes;
  ControlConnection* conn;
};

}  // namespace

ControlConnection::ControlConnection(Token, uv_loop_t* loop,
                                     std::function<void(ControlConnection&, Request)>& handler,
                                     std::function<void()> on_gone)
    : handler_(handler), on_gone_(std::move(on_gone)) {
  uv_pipe_init(loop, pipe_.get(), 0);
  pipe_.get()->data = this;
  uv_timer_init(loop, timer_.get());
  timer_.get()->data = this;
}

ControlConnection::~ControlConnection() = default;

void ControlConnection::start(std::string refusal) {
  refusal_ = std::move(refusal);
  uv_timer_start(timer_.get(), [](uv_timer_t* t) {
    auto* c = static_cast<ControlConnection*>(t->data);
    log("control: closing a connection that sent no complete request in time");
    c->close();
  }, request_timeout_ms, 0);
  uv_read_start(
      pipe_.stream(),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char slab[16 * 1024];  // single-threaded loop: one read at a time
        *buf = uv_buf_init(slab, sizeof slab);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) { static_cast<ControlConnection*>(s->data)->on_read(n, buf); });
}

void ControlConnection::on_read(ssize_t n, const uv_buf_t* buf) {
  if (n < 0) {
    close();
    return;
  }
  if (got_request_) return;  // one request per connection; ignore the rest
  in_.insert(in_.end(), buf->base, buf->base + n);
  auto frame = next_frame(in_, max_request_size);
  if (!frame) {
    send(Response{Response::Kind::error, "request too large"});
    finish();
    return;
  }
  if (!*frame) return;  // need more bytes
  got_request_ = true;
  uv_timer_stop(timer_.get());
  if (!refusal_.empty()) {
    send(Response{Response::Kind::error, refusal_});
    finish();
    return;
  }
  const auto body = (*frame)->body;
  auto request = decode_request(body);
  if (!request) {
    Response err(Response::Kind::error);
    const auto v = body_version(body);
    if (request.error() == Errc::bad_version && v)
      err.text = fmt::format("the running daemon speaks control protocol {}, this roam-server speaks {}; "
                             "stop the old daemon (roam-server info shows its pid)",
                             control_version, *v);
    else
      err.text = fmt::format("malformed request ({})", to_string(request.error()));
    send(err);
    finish();
    return;
  }
  uv_read_stop(pipe_.stream());
  handler_(*this, std::move(*request));
}

void ControlConnection::send(const Response& r) {
  if (closed_) return;
  auto w = std::make_unique<WriteReq>();
  encode(r, w->bytes);
  w->conn = this;
  w->req.data = w.get();
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(w->bytes.data()), static_cast<unsigned>(w->bytes.size()));
  const int rc = uv_write(&w->req, pipe_.stream(), &b, 1, [](uv_write_t* req, int status) {
    std::unique_ptr<WriteReq> done(static_cast<WriteReq*>(req->data));
    if (status == UV_ECANCELED) return;  // the connection is gone
    done->conn->after_write();
  });
  if (rc == 0) {
    ++writes_in_flight_;
    w.release();  // owned by the write callback now
  }
}

void ControlConnection::after_write() {
  --writes_in_flight_;
  pump();
  if (finishing_ && writes_in_flight_ == 0 && !producer_) close();
}

void ControlConnection::stream(std::function<bool(ControlConnection&)> producer) {
  producer_ = std::move(producer);
  pump();
}

void ControlConnection::pump() {
  while (producer_ && !closed_ && uv_stream_get_write_queue_size(pipe_.stream()) < stream_high_water) {
    if (!producer_(*this)) {
      producer_ = nullptr;
      finish();
      return;
    }
    if (writes_in_flight_ > 0 && uv_stream_get_write_queue_size(pipe_.stream()) == 0) break;  // written at once: let the loop breathe
  }
}

void ControlConnection::finish() {
  finishing_ = true;
  if (writes_in_flight_ == 0 && !producer_) close();
}

void ControlConnection::close() {
  if (closed_) return;
  closed_ = true;
  producer_ = nullptr;
  timer_.close();
  pipe_.close();
  on_gone_();
}

ControlServer::ControlServer(uv_loop_t* loop, int listen_fd, std::function<void(ControlConnection&, Request)> handler)
    : loop_(loop), handler_(std::move(handler)) {
  uv_pipe_init(loop, listener_.get(), 0);
  listener_.get()->data = this;
  uv_check_init(loop, sweep_.get());
  sweep_.get()->data = this;
  if (uv_pipe_open(listener_.get(), listen_fd) != 0) throw std::runtime_error("cannot watch the control socket");
  const int rc = uv_listen(listener_.stream(), 64, [](uv_stream_t* s, int status) {
    if (status == 0) static_cast<ControlServer*>(s->data)->accept();
  });
  if (rc != 0) throw std::runtime_error(fmt::format("cannot listen on the control socket: {}", uv_strerror(rc)));
}

ControlServer::~ControlServer() = default;

void ControlServer::accept() {
  auto conn = std::make_unique<ControlConnection>(ControlConnection::Token{}, loop_, handler_, [this] {
    uv_check_start(sweep_.get(), [](uv_check_t* c) {
      auto* self = static_cast<ControlServer*>(c->data);
      std::erase_if(self->connections_, [](const auto& conn) { return conn->closed(); });
      uv_check_stop(c);
    });
  });
  if (uv_accept(listener_.stream(), conn->stream_handle()) != 0) return;
  uv_os_fd_t fd;
  uv_fileno(reinterpret_cast<uv_handle_t*>(conn->stream_handle()), &fd);
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != getuid()) {
    log("control: refused a connection from uid {} (pid {})", cred.uid, cred.pid);
    connections_.push_back(std::move(conn));
    connections_.back()->start(fmt::format("permission denied: this roam daemon belongs to uid {}", getuid()));
    return;
  }
  connections_.push_back(std::move(conn));
  connections_.back()->start();
}

}  // namespace roam::server
