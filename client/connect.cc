#include "client/connect.h"

#include <netdb.h>
#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

#include "client/display.h"
#include "client/escape.h"
#include "client/history_cache.h"
#include "client/input_queue.h"
#include "client/native_scrollback.h"
#include "client/pager.h"
#include "client/status_bar.h"
#include "client/tty.h"
#include "client/tty_writer.h"
#include "client/udp_link.h"
#include "protocol/base64.h"
#include "protocol/host_state.h"
#include "protocol/instruction.h"
#include "protocol/limits.h"
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
// A client ended by a signal or a closed terminal tells the server it is
// leaving and waits this long for the answer, saying it again meanwhile.
constexpr uint64_t leave_timeout = 500;
constexpr uint64_t leave_resend_ms = 100;
// After the session ended, time to acknowledge the final screen.
constexpr uint64_t exit_ack_time = 300;
constexpr uint64_t help_shown_ms = 4'000;
// Silence this long moves us to a new local port: a NAT mapping may have
// been lost (a laptop's sleep) and the old port would never hear back.
constexpr uint64_t rebind_after_ms = 10'000;
// A loop iteration this much later than the timers asked for means the
// process was stopped or the machine slept.
constexpr uint64_t clock_jump_ms = 5'000;
// Silence this long makes a client of a daemon on this machine check, once
// a second, that the daemon still runs (the server heartbeats every 3 s).
constexpr uint64_t daemon_check_ms = 3'000;

// History lines the client keeps for the pager and the native scrollback.
constexpr size_t cached_lines = 10'000;
// History requests awaiting their last answer; the oldest are given up
// beyond this (a server that never completes them).
constexpr size_t max_open_requests = 1024;

// For the last words, once the terminal is blocking again; a terminal that
// is gone cannot be told anything.
void say(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
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
        link_(&loop_, server),
        transport_(key, target.conn_id, crypto::Direction::to_server),
        cache_(cached_lines,
               [this](uint64_t from, uint64_t to, bool urgent) {
                 // The pager shows an empty page until these come.
                 if (urgent) transport_.hurry();
                 return asked(transport_.local().push_history_lines(from, to, urgent), HistoryReply::Kind::lines);
               }),
        predictor_(options.predict, options.predict_at_prompts) {
    if (options.native_scrollback) native_.emplace(options.native_scrollback_lines);
    if (int rc = uv_loop_init(&loop_); rc < 0) throw std::runtime_error(fmt::format("event loop: {}", uv_strerror(rc)));
  }

  ~Client() {
    link_.close();
    if (writer_) writer_->close();
    stdin_.close();
    timer_.close();
    for (auto* h : {&winch_, &term_, &hup_, &cont_, &tstp_}) h->close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  int run() {
    const auto size = terminal_size(STDOUT_FILENO).value_or(TerminalSize{});
    display_.emplace(size.cols, size.rows);
    transport_.local().push_resize(size.cols, size.rows);
    // Before the watchers make the terminal non-blocking.
    flags_.emplace(STDIN_FILENO);
    if (auto started = start_io(); !started) {
      flags_->restore();
      fmt::print(stderr, "roam: {}\n", started.error());
      return 1;
    }
    raw_.emplace(STDIN_FILENO);
    writer_->write(display_->open());
    started_at_ = uv_now(&loop_);
    service();
    uv_run(&loop_, UV_RUN_DEFAULT);
    give_back_terminal();
    raw_.reset();
    // The terminal is restored before we say why we stopped.
    return finish();
  }

 private:
  // Fails if the terminal cannot be watched (stdin a file, not a terminal).
  Result<void, std::string> start_io() {
    link_.on_datagram = [this](std::span<const uint8_t> d) { on_datagram(d); };
    link_.on_version_notice = [this](uint8_t version) {
      if (version != protocol_version) peer_version_ = version;
    };
    link_.open();
    writer_.emplace(&loop_, STDOUT_FILENO);
    writer_->on_drained = [this] {
      if (draw_wanted_) draw();
    };
    if (int rc = uv_poll_init(&loop_, stdin_.get(), STDIN_FILENO); rc < 0)
      return fail(fmt::format("cannot watch the terminal: {}", uv_strerror(rc)));
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
    watch(term_, SIGTERM, [](uv_signal_t* h, int) { static_cast<Client*>(h->data)->leave("terminated"); });
    watch(hup_, SIGHUP, [](uv_signal_t* h, int) { static_cast<Client*>(h->data)->leave("hung up"); });
    watch(tstp_, SIGTSTP, [](uv_signal_t* h, int) { static_cast<Client*>(h->data)->suspend(); });
    // Continued after a stop (or the laptop woke): take the terminal back, speak up at once.
    watch(cont_, SIGCONT, [](uv_signal_t* h, int) { static_cast<Client*>(h->data)->resumed(); });
    return {};
  }

  // Everything queued reaches the terminal, then it gets its modes back
  // and becomes blocking again, for our last words and the shell after us.
  void give_back_terminal() {
    writer_->drain();
    writer_->write(display_->close());
    writer_->drain();
    flags_->restore();
  }

  void on_datagram(std::span<const uint8_t> d) {
    const auto got = transport_.receive(d, uv_now(&loop_));
    if (!got.accepted) {
      if (const auto v = transport_.connection().peer_version()) peer_version_ = *v;
      return;
    }
    heard_ = true;
    if (got.over_limit) {
      stop(fmt::format("the server sent more than a client holds (a screen over {}x{}, or history replies it "
                       "never lets go): disconnected",
                       limits::max_cols, limits::max_rows));
      return;
    }
    if (got.new_state) {
      take_replies();
      predict_update();
    }
    // What was taken (or refused) is freed in every state that holds it.
    transport_.for_each_remote([&](HostState& s) { s.forget_reply_contents(next_reply_); });
    // A session that ended first keeps its own last line.
    if (transport_.remote().server_stopping && !transport_.remote().exited) {
      stop(Ending::server_stopped);
      return;
    }
    if (got.new_state || bar_shown_) draw();
    service();
  }

  // Notes a history request of ours, so that its answers are taken.
  uint64_t asked(uint64_t request, HistoryReply::Kind kind) {
    asked_.emplace(request, kind);
    if (asked_.size() > max_open_requests) asked_.erase(asked_.begin());
    return request;
  }

  // Hands the server's new answers to history requests to whoever asked;
  // answers to no request of ours are dropped and counted.
  void take_replies() {
    const HostState& state = transport_.remote();
    for (uint64_t id = std::max(next_reply_, state.replies_begin()); id < state.replies_end; ++id) {
      const HistoryReply& reply = state.replies[id - state.replies_begin()];
      const auto open = asked_.find(reply.request);
      if (open == asked_.end()) {
        ++transport_.connection().drops().unsolicited;
        continue;
      }
      // A search's answer brings the page around its first match, as lines.
      if (reply.complete && reply.kind == open->second) asked_.erase(open);
      cache_.take(reply);
      if (pager_) pager_->take(reply);
    }
    next_reply_ = state.replies_end;
    if (pager_) {
      pager_->set_begin(state.history_begin);
      pager_->set_end(state.history_end, state.screen);
    }
  }

  void open_pager() {
    if (pager_ || transport_.remote_num() == 0) return;
    const HostState& state = transport_.remote();
    const auto size = terminal_size(STDOUT_FILENO).value_or(TerminalSize{});
    pager_.emplace(state.screen, state.history_begin, state.history_end, size.cols, size.rows, cache_,
                   [this](const std::string& needle, uint64_t from, uint64_t to, bool backward, bool case_sensitive) {
                     return asked(transport_.local().push_history_search(needle, from, to, backward, case_sensitive),
                                  HistoryReply::Kind::matches);
                   });
  }

  // Hands the terminal to the shell (Ctrl-^ Ctrl-Z, or SIGTSTP) and stops;
  // resumed() takes it back.
  void suspend() {
    if (stopped_ || suspended_) return;
    give_back_terminal();
    raw_->restore();
    say(STDOUT_FILENO, "[roam is suspended]\n");
    suspended_ = true;
    kill(0, SIGSTOP);  // the whole job, as the terminal's own Ctrl-Z would
  }

  // SIGCONT: after our own suspend, or any stop (whoever had the terminal
  // meanwhile may have changed its modes), or the laptop woke.
  void resumed() {
    uv_update_time(&loop_);
    if (!stopped_) {
      flags_->non_blocking();
      raw_->enter();
      if (suspended_) writer_->write(display_->open());
      display_->invalidate();
      suspended_ = false;
      draw();
    }
    transport_.nudge();
    service();
  }

  void on_keys() {
    char buf[65536];
    const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      leave("the terminal closed");
      return;
    }
    std::string to_session;
    std::vector<LocalCommand> commands;
    escape_.feed({buf, static_cast<size_t>(n)}, to_session, commands);
    // While the pager is open, keys are the pager's.
    if (pager_) {
      if (!pager_->keys(to_session)) pager_.reset();
    } else if (!detaching_ && !leaving_ && !to_session.empty()) {
      type(to_session);
    }
    for (LocalCommand c : commands) {
      switch (c) {
        case LocalCommand::detach: detach(); break;
        case LocalCommand::help: help_until_ = uv_now(&loop_) + help_shown_ms; break;
        case LocalCommand::repaint: display_->invalidate(); break;
        case LocalCommand::pager: open_pager(); break;
        case LocalCommand::suspend: suspend(); break;
      }
    }
    draw();
    service();
  }

  // Keys for the session: typing goes out at once and is predicted; a
  // paste queues and goes out as the windows allow.
  void type(const std::string& keys) {
    const uint64_t now = uv_now(&loop_);
    const bool typing = input_.queued() == 0 && keys.size() <= InputQueue::chunk;
    if (const size_t refused = input_.push(keys)) {
      refused_ += refused;
      refused_at_ = now;
    }
    if (typing) transport_.urgent();
    if (feed() == keys.size() && typing)
      predictor_.keys(keys, transport_.local().end(), transport_.remote().screen, now);
  }

  // Moves queued keys into the state; a paste in progress goes out as
  // soon as the server acknowledges its last part, not a frame later.
  size_t feed() {
    const size_t moved = input_.feed(transport_.local(), transport_.remote().echo_ack);
    if (moved >= InputQueue::chunk || (moved > 0 && input_.queued() > 0)) transport_.hurry();
    return moved;
  }

  void detach() {
    if (detaching_ || leaving_) return;
    detaching_ = uv_now(&loop_);
    unsent_ = input_.clear() + refused_;  // the rest of a paste is dropped, and we say so
    transport_.local().push_detach();
  }

  // Ended from outside (SIGHUP, SIGTERM, the terminal closed): the server
  // hears that we are leaving, more than once, unless it answers first.
  void leave(std::string why) {
    if (leaving_ || stopped_) return;
    const uint64_t now = uv_now(&loop_);
    leaving_ = now;
    leave_reason_ = std::move(why);
    // Keys no longer matter, and a closed terminal would stay readable (EOF) meanwhile.
    uv_poll_stop(stdin_.get());
    input_.clear();
    if (!detaching_) transport_.local().push_detach();
    last_words();
    last_words();
    service();
  }

  void last_words() {
    last_words_at_ = uv_now(&loop_);
    transport_.resend(last_words_at_, emit_);
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

  uint64_t heard_at() const { return heard_ ? transport_.connection().last_heard() : started_at_; }

  // The bar over the top row; empty when there is nothing to say.
  std::string status_text(uint64_t now) const {
    StatusFacts facts;
    facts.now = now;
    facts.help_until = help_until_;
    facts.silent_ms = now - heard_at();
    facts.refused = refused_;
    facts.refused_at = refused_at_;
    facts.reattach = target_.reattach;
    return status_line(facts);
  }

  void draw() {
    // The terminal has not taken the last frame yet: the next one waits,
    // and is then drawn from the newest state.
    draw_wanted_ = writer_->busy();
    if (draw_wanted_ || suspended_) return;
    const uint64_t now = uv_now(&loop_);
    const std::string line = status_text(now);
    if (line.empty() && bar_shown_) display_->invalidate();  // repaint what the bar covered
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
    bar_shown_ = !line.empty();
    writer_->write(out_);
  }

  void predict_update() {
    const RttEstimator& rtt = transport_.connection().rtt();
    predictor_.update(transport_.remote().screen, transport_.remote().echo_ack, rtt.has_sample() ? rtt.srtt() : 0,
                      uv_now(&loop_));
  }

  // Whether the daemon on this machine is gone: a dead daemon's client
  // would otherwise wait for an answer for ever.
  bool watching_daemon() const { return target_.local && target_.daemon_pid > 0; }
  bool daemon_gone(uint64_t now) {
    if (!watching_daemon() || now - heard_at() < daemon_check_ms) return false;
    if (now - last_daemon_check_ < 1000) return false;
    last_daemon_check_ = now;
    return kill(target_.daemon_pid, 0) != 0;  // ESRCH, or EPERM: that pid is someone else's now
  }

  // Decides whether we are done (then stops); else lowers `next` to when
  // it must look again.
  bool ended(uint64_t now, uint64_t& next) {
    const HostState& state = transport_.remote();
    if (leaving_) {
      if (transport_.idle() || now - *leaving_ >= leave_timeout) return stop(leave_reason_);
      if (now - last_words_at_ >= leave_resend_ms) last_words();
      next = std::min(next, last_words_at_ + leave_resend_ms);
      return false;
    }
    if (detaching_ && (transport_.idle() || now - *detaching_ > detach_timeout)) {
      detach_confirmed_ = transport_.idle();
      return stop(Ending::detached);
    }
    if (state.exited) {
      if (!ended_at_) ended_at_ = now;
      if (now - *ended_at_ >= exit_ack_time) {
        // Our acknowledgement of the end once more: on hearing it the
        // daemon removes the session at once, not after a timeout.
        last_words();
        return stop(Ending::exited);
      }
      next = std::min(next, *ended_at_ + exit_ack_time);
    }
    if (daemon_gone(now))
      return stop(fmt::format("the roam-server (pid {}) is gone, and session {} with it", target_.daemon_pid, name_));
    // No state from the server yet: the network, or a server of another version.
    const bool unanswered = !heard_ || (peer_version_ && transport_.remote_num() == 0);
    if (unanswered && now - started_at_ > first_reply_timeout) {
      const std::string server = target_.label.empty() ? target_.host : target_.label;
      if (peer_version_) return stop(version_mismatch(fmt::format("at {} port {}", server, target_.port), *peer_version_));
      return stop(fmt::format("no UDP reply from {} port {} — is that UDP port open?", server, target_.port));
    }
    if (unanswered) next = std::min(next, started_at_ + first_reply_timeout + 1);
    return false;
  }

  // Sends what is due and decides whether we are done.
  void service() {
    if (stopped_) return;
    const uint64_t now = uv_now(&loop_);
    // Much later than any timer asked for: we were stopped, or slept.
    if (expected_wake_ && now > *expected_wake_ + clock_jump_ms) transport_.nudge();
    const uint64_t heard = heard_at();
    if (heard_ && now - heard >= rebind_after_ms && now - link_.last_rebind() >= rebind_after_ms) {
      link_.rebind(now);
      transport_.nudge();
    }
    const auto linger = link_.tick(now);
    if (!detaching_ && !leaving_) feed();
    uint64_t next = transport_.tick(now, emit_);
    if (ended(now, next)) return;
    if (help_until_ && now < *help_until_) next = std::min(next, *help_until_);
    if (refused_at_ && now - *refused_at_ < refused_shown_ms) next = std::min(next, *refused_at_ + refused_shown_ms);
    // The bar appears on time and counts seconds.
    const uint64_t silent = now - heard;
    next = std::min(next, silent < contact_warning_ms ? heard + contact_warning_ms : now + 1000 - silent % 1000);
    if (watching_daemon()) next = std::min(next, silent < daemon_check_ms ? heard + daemon_check_ms : last_daemon_check_ + 1000);
    // A guess whose echo is late may turn the display of guesses on.
    const auto check = predictor_.next_check();
    const bool recheck = check && now >= *check;
    if (recheck) predict_update();
    const auto native_wake = native_ ? native_->wake_at() : std::nullopt;
    if (recheck || bar_shown_ || !status_text(now).empty() || (native_wake && now >= *native_wake)) draw();
    if (const auto again = predictor_.next_check()) next = std::min(next, std::max(*again, now + 1));
    if (native_ && native_->wake_at()) next = std::min(next, *native_->wake_at());
    if (heard_) next = std::min(next, std::max(heard, link_.last_rebind()) + rebind_after_ms);
    if (linger) next = std::min(next, *linger);
    expected_wake_ = std::max(next, now);
    uv_timer_start(timer_.get(), [](uv_timer_t* t) { static_cast<Client*>(t->data)->service(); }, next > now ? next - now : 0, 0);
  }

  enum class Ending { error, detached, exited, server_stopped };

  // Always true: "return stop(...)" ends what called it.
  bool stop(Ending how) {
    if (stopped_) return true;
    stopped_ = true;
    ending_ = how;
    uv_stop(&loop_);
    return true;
  }
  bool stop(std::string error) {
    if (!stopped_) error_ = std::move(error);
    return stop(Ending::error);
  }

  int finish() {
    const HostState& state = transport_.remote();
    auto line = [](int fd, std::string text) { say(fd, text + "\n"); };
    switch (ending_) {
      case Ending::error: line(STDERR_FILENO, "roam: " + error_); return 1;
      case Ending::server_stopped: line(STDOUT_FILENO, "[roam-server stopped]"); return 1;
      case Ending::detached:
        if (!detach_confirmed_) {
          line(STDERR_FILENO, fmt::format("roam: left {}, but the server did not answer: it may have restarted{}", name_,
                                          target_.reattach.empty() ? "" : " (" + target_.reattach + " to see)"));
          return 1;
        }
        line(STDOUT_FILENO, unsent_ ? fmt::format("[detached from {}; {} of input not sent]", name_, mebibytes(unsent_))
                                    : fmt::format("[detached from {}]", name_));
        return 0;
      case Ending::exited:
        line(STDOUT_FILENO, state.killed ? fmt::format("[{} killed]", name_)
                                         : fmt::format("[{} exited with code {}]", name_, state.exit_code));
        return 0;
    }
    return 0;
  }

  ConnectTarget target_;
  std::string name_;
  ClientOptions options_;
  uv_loop_t loop_{};
  UdpLink link_;
  const Emit emit_ = [this](std::span<const uint8_t> d) { link_.send(d); };
  Transport<UserState, HostState> transport_;
  std::optional<Display> display_;
  std::optional<FileFlags> flags_;
  std::optional<RawMode> raw_;
  std::optional<TtyWriter> writer_;
  HistoryCache cache_;
  std::optional<NativeScrollback> native_;
  std::optional<Pager> pager_;
  uint64_t next_reply_ = 0;  // replies before this one are taken
  std::map<uint64_t, HistoryReply::Kind> asked_;  // requests still being answered, by number
  std::vector<Row> pushed_;  // scratch: rows on their way to the scrollback
  Predictor predictor_;
  EscapeKeys escape_;
  InputQueue input_;
  size_t refused_ = 0, unsent_ = 0;  // input bytes refused (queue full), and left unsent at a detach
  std::optional<uint64_t> refused_at_, expected_wake_;
  UvHandle<uv_poll_t> stdin_;
  UvHandle<uv_timer_t> timer_;
  UvHandle<uv_signal_t> winch_, term_, hup_, cont_, tstp_;
  std::string out_;
  uint64_t started_at_ = 0, last_words_at_ = 0, last_daemon_check_ = 0;
  bool heard_ = false;
  std::optional<uint8_t> peer_version_;  // the server speaks another protocol
  std::optional<uint64_t> detaching_, leaving_, ended_at_, help_until_;
  std::string leave_reason_;
  bool detach_confirmed_ = false;
  bool bar_shown_ = false, draw_wanted_ = false, suspended_ = false;
  bool stopped_ = false;
  Ending ending_ = Ending::error;
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
