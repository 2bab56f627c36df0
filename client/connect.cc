#include "client/connect.h"

#include <netdb.h>
#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "client/display.h"
#include "client/escape.h"
#include "client/history_cache.h"
#include "client/native_scrollback.h"
#include "client/pager.h"
#include "client/tty.h"
#include "protocol/base64.h"
#include "protocol/host_state.h"
#include "protocol/transport.h"
#include "protocol/user_state.h"
#include "protocol/uv_handle.h"

namespace roam::client {

namespace {

// Without any answer from the server for this long after starting, UDP is
// probably blocked on the way.
constexpr uint64_t first_reply_timeout = 10'000;
// How long a detach waits for the server to confirm it.
constexpr uint64_t detach_timeout = 2'000;
// After the session ended, time to acknowledge the final screen.
constexpr uint64_t exit_ack_time = 300;
constexpr uint64_t help_shown_ms = 4'000;
// Silence from the server this long shows the "last contact" bar.
constexpr uint64_t contact_warning_ms = 6'500;
// Silence this long moves us to a new local port: a NAT mapping may have
// been lost (a laptop's sleep) and the old port would never hear back.
constexpr uint64_t rebind_after_ms = 10'000;
// The old socket stays open this long for datagrams already on their way.
constexpr uint64_t old_socket_linger_ms = 5'000;
// A loop iteration this much later than the timers asked for means the
// process was stopped or the machine slept.
constexpr uint64_t clock_jump_ms = 5'000;

// History lines the client keeps for the pager and the native scrollback.
constexpr size_t cached_lines = 10'000;

constexpr std::string_view help_line =
    " roam: Ctrl-^ d detach | Ctrl-^ [ history | Ctrl-^ ^ send Ctrl-^ | Ctrl-L repaint | Ctrl-^ ? this help ";

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the terminal is gone; nothing to draw on
    s.remove_prefix(static_cast<size_t>(n));
  }
}

Result<sockaddr_storage, std::string> resolve(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) return fail(fmt::format("cannot resolve {}: {}", host, gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  sockaddr_storage addr{};
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  return addr;
}

class Client {
 public:
  Client(const ConnectTarget& target, const std::string& name, const ClientOptions& options, const crypto::Key& key,
         sockaddr_storage server)
      : target_(target),
        name_(name),
        options_(options),
        server_(server),
        transport_(key, target.conn_id, crypto::Direction::to_server),
        cache_(cached_lines,
               [this](uint64_t from, uint64_t to, bool urgent) {
                 // The pager shows an empty page until these come.
                 if (urgent) transport_.hurry();
                 return transport_.local().push_history_lines(from, to, urgent);
               }),
        predictor_(options.predict, options.predict_at_prompts) {
    if (options.native_scrollback) native_.emplace(options.native_scrollback_lines);
    uv_loop_init(&loop_);
  }

  ~Client() {
    udp_.close();
    old_udp_.close();
    cont_.close();
    stdin_.close();
    timer_.close();
    winch_.close();
    term_.close();
    hup_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  int run() {
    const auto size = terminal_size(STDOUT_FILENO).value_or(TerminalSize{});
    display_.emplace(size.cols, size.rows);
    transport_.local().push_resize(size.cols, size.rows);
    if (auto ok = start_io(); !ok) {
      fmt::print(stderr, "roam: {}\n", ok.error());
      return 1;
    }
    {
      RawMode raw(STDIN_FILENO);
      write_all(STDOUT_FILENO, display_->open());
      started_at_ = uv_now(&loop_);
      service();
      uv_run(&loop_, UV_RUN_DEFAULT);
      write_all(STDOUT_FILENO, display_->close());
    }
    // The terminal is restored before we say why we stopped.
    return finish();
  }

 private:
  // A UDP socket on a fresh local port, receiving into on_datagram.
  UvHandle<uv_udp_t> open_socket() {
    UvHandle<uv_udp_t> udp;
    uv_udp_init_ex(&loop_, udp.get(), server_.ss_family);
    udp.get()->data = this;
    uv_udp_recv_start(
        udp.get(),
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
          static char slab[65536];
          *buf = uv_buf_init(slab, sizeof slab);
        },
        [](uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr*, unsigned) {
          if (n > 0) static_cast<Client*>(h->data)->on_datagram({reinterpret_cast<uint8_t*>(buf->base), static_cast<size_t>(n)});
        });
    return udp;
  }

  // Moves to a new local port; the old socket lingers for stragglers.
  void rebind(uint64_t now) {
    old_udp_ = std::move(udp_);
    old_udp_until_ = now + old_socket_linger_ms;
    udp_ = open_socket();
    last_rebind_ = now;
    transport_.nudge();
  }

  Result<void, std::string> start_io() {
    udp_ = open_socket();
    uv_poll_init(&loop_, stdin_.get(), STDIN_FILENO);
    stdin_.get()->data = this;
    uv_poll_start(stdin_.get(), UV_READABLE, [](uv_poll_t* h, int, int) { static_cast<Client*>(h->data)->on_keys(); });
    uv_timer_init(&loop_, timer_.get());
    timer_.get()->data = this;
    auto watch = [this](UvHandle<uv_signal_t>& h, int sig, uv_signal_cb cb) {
      uv_signal_init(&loop_, h.get());
      h.get()->data = this;
      uv_signal_start(h.get(), cb, sig);
    };
    watch(winch_, SIGWINCH, [](uv_signal_t* h, int) { static_cast<Client*>(h->data)->on_resize(); });
    watch(term_, SIGTERM, [](uv_signal_t* h, int) { static_cast<Client*>(h->data)->stop("terminated"); });
    watch(hup_, SIGHUP, [](uv_signal_t* h, int) { static_cast<Client*>(h->data)->stop("hung up"); });
    // Continued after a stop (or the laptop woke): speak up at once.
    watch(cont_, SIGCONT, [](uv_signal_t* h, int) { static_cast<Client*>(h->data)->woke(); });
    return {};
  }

  void on_datagram(std::span<const uint8_t> d) {
    const auto got = transport_.receive(d, uv_now(&loop_));
    if (!got.authentic) return;
    heard_ = true;
    if (got.new_state) {
      take_replies();
      predict_update();
    }
    if (got.new_state || overlay_shown_) draw();
    service();
  }

  // Hands the server's new answers to history requests to whoever asked.
  void take_replies() {
    const HostState& state = transport_.remote();
    for (uint64_t id = std::max(next_reply_, state.replies_begin()); id < state.replies_end; ++id) {
      const HistoryReply& reply = state.replies[id - state.replies_begin()];
      cache_.take(reply);
      if (pager_) pager_->take(reply);
    }
    next_reply_ = state.replies_end;
    if (pager_) pager_->set_begin(state.history_begin);
  }

  void open_pager() {
    if (pager_ || transport_.remote_num() == 0) return;
    const HostState& state = transport_.remote();
    const auto size = terminal_size(STDOUT_FILENO).value_or(TerminalSize{});
    pager_.emplace(state.screen, state.history_begin, state.history_end, size.cols, size.rows, cache_,
                   [this](const std::string& needle, uint64_t from, uint64_t to, bool backward, bool case_sensitive) {
                     return transport_.local().push_history_search(needle, from, to, backward, case_sensitive);
                   });
  }

  void woke() {
    uv_update_time(&loop_);
    transport_.nudge();
    service();
  }

  void on_keys() {
    char buf[4096];
    const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      stop("the terminal closed");
      return;
    }
    std::string to_session;
    std::vector<LocalCommand> commands;
    escape_.feed({buf, static_cast<size_t>(n)}, to_session, commands);
    // While the pager is open, keys are the pager's.
    if (pager_) {
      if (!pager_->keys(to_session)) pager_.reset();
    } else if (!detaching_ && !to_session.empty()) {
      transport_.local().push_keys(to_session);
      predictor_.keys(to_session, transport_.local().end(), transport_.remote().screen, uv_now(&loop_));
    }
    for (LocalCommand c : commands) {
      switch (c) {
        case LocalCommand::detach:
          if (!detaching_) {
            detaching_ = uv_now(&loop_);
            transport_.local().push_detach();
          }
          break;
        case LocalCommand::help: help_until_ = uv_now(&loop_) + help_shown_ms; break;
        case LocalCommand::repaint: display_->invalidate(); break;
        case LocalCommand::pager: open_pager(); break;
      }
    }
    draw();
    service();
  }

  void on_resize() {
    const auto size = terminal_size(STDOUT_FILENO);
    if (!size) return;
    display_->resize(size->cols, size->rows);
    if (pager_) pager_->resize(size->cols, size->rows);
    transport_.local().push_resize(size->cols, size->rows);
    draw();
    service();
  }

  // A line drawn over the top row: the keys, or how long the server has
  // been silent. Empty when there is nothing to say.
  std::string overlay(uint64_t now) const {
    if (help_until_ && now < *help_until_) return std::string(help_line);
    const uint64_t silent = now - (heard_ ? transport_.connection().last_heard() : started_at_);
    if (silent >= contact_warning_ms)
      return fmt::format(" roam: last contact {} s ago \u2014 Ctrl-^ d to detach ", silent / 1000);
    return {};
  }

  void draw() {
    const uint64_t now = uv_now(&loop_);
    const std::string line = overlay(now);
    if (line.empty() && overlay_shown_) display_->invalidate();  // repaint what the bar covered
    out_.clear();
    const HostState& state = transport_.remote();
    // Rows that left the session's screen go to the terminal's scrollback
    // first, unless the pager has the terminal.
    if (native_ && !pager_ && transport_.remote_num() > 0) {
      pushed_.clear();
      native_->update(state.history_begin, state.history_end, now, display_->cols(), cache_, pushed_);
      display_->push_history(pushed_, out_);
    }
    if (pager_) {
      if (auto text = pager_->take_copy()) {
        // Padded: some terminals' OSC 52 decoders insist on it.
        std::string b64 = base64_encode({reinterpret_cast<const uint8_t*>(text->data()), text->size()});
        b64.append((4 - b64.size() % 4) % 4, '=');
        out_ += fmt::format("\x1b]52;c;{}\a", b64);
      }
      display_->draw(pager_->render(), out_);
    } else {
      display_->draw(state.screen, out_, &predictor_.overlay());
    }
    if (!line.empty()) out_ += fmt::format("\x1b""7\x1b[1;1H\x1b[0;7m{}\x1b[K\x1b[0m\x1b""8", line);
    overlay_shown_ = !line.empty();
    write_all(STDOUT_FILENO, out_);
  }

  void predict_update() {
    const RttEstimator& rtt = transport_.connection().rtt();
    predictor_.update(transport_.remote().screen, transport_.remote().echo_ack, rtt.has_sample() ? rtt.srtt() : 0,
                      uv_now(&loop_));
  }

  // Sends what is due and decides whether we are done.
  void service() {
    if (stopped_) return;
    const uint64_t now = uv_now(&loop_);
    // Much later than any timer asked for: we were stopped, or slept.
    if (expected_wake_ && now > *expected_wake_ + clock_jump_ms) transport_.nudge();
    const uint64_t heard_at = heard_ ? transport_.connection().last_heard() : started_at_;
    if (heard_ && now - heard_at >= rebind_after_ms && now - last_rebind_ >= rebind_after_ms) rebind(now);
    if (old_udp_until_ && now >= *old_udp_until_) {
      old_udp_.close();
      old_udp_until_.reset();
    }
    const sockaddr* to = reinterpret_cast<const sockaddr*>(&server_);
    uint64_t next = transport_.tick(now, [&](std::span<const uint8_t> d) {
      uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(d.data())), static_cast<unsigned>(d.size()));
      (void)uv_udp_try_send(udp_.get(), &b, 1, to);
    });
    const HostState& state = transport_.remote();
    if (detaching_ && (transport_.idle() || now - *detaching_ > detach_timeout)) return stop({});
    if (state.exited) {
      if (!ended_at_) ended_at_ = now;
      if (now - *ended_at_ >= exit_ack_time) return stop({});
      next = std::min(next, *ended_at_ + exit_ack_time);
    }
    if (!heard_ && now - started_at_ > first_reply_timeout)
      return stop(fmt::format("no UDP reply from {} port {} — is that UDP port open?",
                              target_.label.empty() ? target_.host : target_.label, target_.port));
    if (!heard_) next = std::min(next, started_at_ + first_reply_timeout + 1);
    if (help_until_ && now < *help_until_) next = std::min(next, *help_until_);
    // The bar appears on time and counts seconds.
    const uint64_t silent = now - heard_at;
    next = std::min(next, silent < contact_warning_ms ? heard_at + contact_warning_ms : now + 1000 - silent % 1000);
    // A guess whose echo is late may turn the display of guesses on.
    const auto check = predictor_.next_check();
    const bool recheck = check && now >= *check;
    if (recheck) predict_update();
    const auto native_wake = native_ ? native_->wake_at() : std::nullopt;
    if (recheck || overlay_shown_ || !overlay(now).empty() || (native_wake && now >= *native_wake)) draw();
    if (const auto again = predictor_.next_check()) next = std::min(next, std::max(*again, now + 1));
    if (native_ && native_->wake_at()) next = std::min(next, *native_->wake_at());
    if (heard_) next = std::min(next, std::max(heard_at, last_rebind_) + rebind_after_ms);
    if (old_udp_until_) next = std::min(next, *old_udp_until_);
    expected_wake_ = std::max(next, now);
    uv_timer_start(timer_.get(), [](uv_timer_t* t) { static_cast<Client*>(t->data)->service(); }, next > now ? next - now : 0, 0);
  }

  void stop(std::string error) {
    if (stopped_) return;
    stopped_ = true;
    error_ = std::move(error);
    uv_stop(&loop_);
  }

  int finish() {
    const HostState& state = transport_.remote();
    if (!error_.empty()) {
      fmt::print(stderr, "roam: {}\n", error_);
      return 1;
    }
    if (detaching_) {
      fmt::print("[detached from {}]\n", name_);
      return 0;
    }
    if (state.exited) {
      fmt::print("[{} exited with code {}]\n", name_, state.exit_code);
      return 0;
    }
    return 0;
  }

  ConnectTarget target_;
  std::string name_;
  ClientOptions options_;
  sockaddr_storage server_;
  uv_loop_t loop_{};
  Transport<UserState, HostState> transport_;
  std::optional<Display> display_;
  HistoryCache cache_;
  std::optional<NativeScrollback> native_;
  std::optional<Pager> pager_;
  uint64_t next_reply_ = 0;  // replies before this one are taken
  std::vector<Row> pushed_;  // scratch: rows on their way to the scrollback
  Predictor predictor_;
  EscapeKeys escape_;
  UvHandle<uv_udp_t> udp_, old_udp_;
  std::optional<uint64_t> old_udp_until_, expected_wake_;
  uint64_t last_rebind_ = 0;
  UvHandle<uv_poll_t> stdin_;
  UvHandle<uv_timer_t> timer_;
  UvHandle<uv_signal_t> winch_, term_, hup_, cont_;
  std::string out_;
  uint64_t started_at_ = 0;
  bool heard_ = false;
  std::optional<uint64_t> detaching_, ended_at_, help_until_;
  bool overlay_shown_ = false;
  bool stopped_ = false;
  std::string error_;
};

}  // namespace

int run_connect(const ConnectTarget& target, const std::string& name, const ClientOptions& options) {
  auto key = crypto::Key::from_base64(target.key);
  if (!key) {
    fmt::print(stderr, "roam: the session key is malformed\n");
    return 1;
  }
  auto addr = resolve(target.host, target.port);
  if (!addr) {
    fmt::print(stderr, "roam: {}\n", addr.error());
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  Client client(target, name, options, *key, *addr);
  return client.run();
}

}  // namespace roam::client
