#include "server/daemon.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <uv.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <memory>
#include <optional>

#include "mux/registry.h"
#include "protocol/limits.h"
#include "protocol/uv_handle.h"
#include "server/attachments.h"
#include "server/control_server.h"
#include "server/history_stream.h"
#include "server/log.h"

namespace roam::server {

namespace {

// A daemon started on demand waits this long for its first session.
constexpr uint64_t idle_exit_ms = 10'000;
// History is streamed in data responses of about this size.
constexpr size_t history_chunk = 64 * 1024;

std::string read_small_file(int fd) {
  char buf[64];
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// ROAM_ATTACHMENT_TIMEOUT (seconds): how long an attachment whose client
// went silent is kept.
AttachmentLimits limits_from_environment() {
  AttachmentLimits limits;
  if (const char* t = std::getenv("ROAM_ATTACHMENT_TIMEOUT"); t && *t) {
    char* end = nullptr;
    const unsigned long long seconds = std::strtoull(t, &end, 10);
    if (end && *end == '\0' && seconds > 0) limits.vanished_ms = seconds * 1000;
  }
  return limits;
}

// ROAM_HISTORY_LINES: how many lines each new session's history keeps.
mux::History::Limits history_limits_from_environment() {
  mux::History::Limits limits;
  if (const char* n = std::getenv("ROAM_HISTORY_LINES"); n && *n) {
    char* end = nullptr;
    const unsigned long long lines = std::strtoull(n, &end, 10);
    if (end && *end == '\0') limits.max_lines = lines;
  }
  return limits;
}

class Daemon {
 public:
  Daemon(const RuntimeDir& dir, Claim claim, bool persist)
      : dir_(dir), claim_(std::move(claim)), persist_(persist) {
    if (int rc = uv_loop_init(loop_.get()); rc < 0)
      throw std::runtime_error(fmt::format("event loop: {}", uv_strerror(rc)));
    attachments_.emplace(loop_.get(), limits_from_environment());
    registry_.emplace(loop_.get());
    control_.emplace(loop_.get(), claim_.listener.release(),
                     [this](ControlConnection& c, Request r) { handle(c, std::move(r)); });
    registry_->on_session_ended = [](mux::Session& s) {
      log("session {} ended: {} exited with status {}", s.name(), s.command(), s.exit_status().value_or(-1));
    };
    registry_->on_empty = [this] {
      if (stopping_) stop_when_done();
      else if (!persist_) shutdown("the last session ended");
    };
    registry_->on_programs_ended = [](const std::string& name, size_t killed, size_t survivors) {
      if (killed == 0 && survivors == 0) log("session {}: its programs ended on the hangup", name);
      if (killed > 0)
        log("session {}: SIGKILL for {} process{} still running {} ms after the hangup", name, killed,
            killed == 1 ? "" : "es", mux::Reaper::grace_ms);
      if (survivors > 0)
        log("session {}: {} process{} could not be killed and were left running", name, survivors,
            survivors == 1 ? "" : "es");
    };
    registry_->on_session_changed = [this](mux::Session& s) { attachments_->session_changed(s); };
    registry_->on_session_removed = [this](mux::Session& s) {
      attachments_->session_removed(s);
      release_memory_soon();
    };
    attachments_->on_closed = [this] { release_memory_soon(); };
    attachments_->on_end_seen = [this](mux::Session& s) {
      // A client watched the program end: the session goes, as a tmux pane does.
      log("session {} removed: an attached client showed its end", s.name());
      const std::string name = s.name();
      (void)registry_->kill(name);
    };
    watch_signal(sigchld_, SIGCHLD, [](uv_signal_t* h, int) { static_cast<Daemon*>(h->data)->registry_->reap_children(); });
    watch_signal(sigterm_, SIGTERM, [](uv_signal_t* h, int) { static_cast<Daemon*>(h->data)->shutdown("SIGTERM"); });
    watch_signal(sigint_, SIGINT, [](uv_signal_t* h, int) { static_cast<Daemon*>(h->data)->shutdown("SIGINT"); });
    uv_timer_init(loop_.get(), trim_.get());
    trim_.get()->data = this;
    uv_timer_init(loop_.get(), idle_.get());
    idle_.get()->data = this;
    uv_timer_start(idle_.get(), [](uv_timer_t* t) {
      auto* d = static_cast<Daemon*>(t->data);
      if (!d->persist_ && d->registry_->empty() && d->control_->connections() == 0)
        d->shutdown("no session was created");
    }, idle_exit_ms, idle_exit_ms);
  }

  int run() {
    log("daemon started: version {}, runtime directory {}", ROAM_VERSION, dir_.path);
    uv_run(loop_.get(), UV_RUN_DEFAULT);
    // Close everything, then let the loop finish the close callbacks.
    control_.reset();
    registry_.reset();
    attachments_.reset();
    sigchld_.close();
    sigterm_.close();
    sigint_.close();
    idle_.close();
    trim_.close();
    uv_run(loop_.get(), UV_RUN_DEFAULT);
    uv_loop_close(loop_.get());
    log("daemon stopped");
    return 0;
  }

 private:
  template <class F>
  void watch_signal(UvHandle<uv_signal_t>& h, int sig, F cb) {
    uv_signal_init(loop_.get(), h.get());
    h.get()->data = this;
    uv_signal_start(h.get(), cb, sig);
  }

  // A session's history or a client's screens can be megabytes; once freed,
  // give the pages back to the system rather than keep a high-water mark for
  // the life of the daemon. At most once a second.
  void release_memory_soon() {
    if (uv_is_active(trim_.base())) return;
    uv_timer_start(trim_.get(), [](uv_timer_t*) { malloc_trim(0); }, 1000, 0);
  }

  // Stops once every session's programs have ended (killed sessions get
  // their grace; registry on_empty calls back) and the clients were told.
  void stop_when_done() {
    if (farewell_said_ && registry_->empty()) uv_stop(loop_.get());
  }

  void shutdown(const char* why) {
    if (stopping_) return;
    stopping_ = true;
    log("daemon stopping: {}", why);
    // Only our own socket: we hold the lock, so nobody else has replaced it.
    unlink(dir_.socket().c_str());
    control_->stop();
    // The clients hear it from us rather than from a long silence, and
    // before their sessions end: the stop, not the kill, is their news.
    attachments_->farewell([this] {
      farewell_said_ = true;
      registry_->kill_all();
      stop_when_done();
    });
    stop_when_done();
  }

  void handle(ControlConnection& c, Request r) {
    if (stopping_ && (r.kind == Request::Kind::new_session || r.kind == Request::Kind::attach))
      return reply(c, fail(std::string("the daemon is stopping")));
    switch (r.kind) {
      case Request::Kind::new_session: return new_session(c, std::move(r));
      case Request::Kind::list: return list(c);
      case Request::Kind::kill: return kill(c, r.name);
      case Request::Kind::kill_ended: return kill_ended(c);
      case Request::Kind::rename: return reply(c, registry_->rename(r.name, r.new_name));
      case Request::Kind::history: return history(c, std::move(r));
      case Request::Kind::info: return info(c);
      case Request::Kind::attach: return attach(c, std::move(r));
    }
  }

  static void reply(ControlConnection& c, const Result<void, std::string>& result) {
    if (result) c.send(Response{Response::Kind::ok});
    else c.send(Response{Response::Kind::error, result.error()});
    c.finish();
  }

  void kill(ControlConnection& c, const std::string& name) {
    const mux::Session* s = registry_->find(name);
    if (s && s->ended()) log("session {} removed (roam kill)", name);
    else if (s) log("session {} killed: SIGHUP to its process group, SIGKILL to what is left of it in {} ms", name,
                    mux::Reaper::grace_ms);
    reply(c, registry_->kill(name));
  }

  // Answers with the sessions removed.
  void kill_ended(ControlConnection& c) {
    Response resp(Response::Kind::sessions);
    for (std::string& name : registry_->kill_ended()) {
      log("session {} removed (roam kill --exited)", name);
      SessionInfo i;
      i.name = std::move(name);
      resp.sessions.push_back(std::move(i));
    }
    c.send(resp);
    c.finish();
  }

  Result<mux::Session*, std::string> create_session(Request& r) {
    if (!limits::session_size_ok(r.cols, r.rows))
      return fail(fmt::format("invalid size {}x{}", r.cols, r.rows));
    mux::SessionOptions options;
    options.name = r.name;
    options.spawn.argv = std::move(r.argv);
    options.spawn.cwd = std::move(r.cwd);
    options.spawn.cols = static_cast<int>(r.cols);
    options.spawn.rows = static_cast<int>(r.rows);
    options.history = history_limits_;
    auto s = registry_->create(std::move(options));
    if (s) log("session {} created: {} ({}x{})", (*s)->name(), (*s)->command(), r.cols, r.rows);
    return s;
  }

  void new_session(ControlConnection& c, Request r) {
    auto s = create_session(r);
    reply(c, s ? Result<void, std::string>{} : fail(s.error()));
  }

  // Attaches to the session, creating it first if need be (like tmux new -A).
  void attach(ControlConnection& c, Request r) {
    mux::Session* s = registry_->find(r.name);
    if (!s) {
      auto created = create_session(r);
      if (!created) return reply(c, fail(created.error()));
      s = *created;
    } else if (!limits::session_size_ok(r.cols, r.rows)) {
      return reply(c, fail(fmt::format("invalid size {}x{}", r.cols, r.rows)));
    }
    auto info = attachments_->attach(*s, static_cast<int>(r.cols), static_cast<int>(r.rows), r.port_low, r.port_high);
    if (!info) return reply(c, fail(info.error()));
    Response resp(Response::Kind::connect);
    resp.connect = std::move(*info);
    resp.connect.daemon_pid = getpid();
    c.send(resp);
    c.finish();
  }

  void list(ControlConnection& c) {
    Response resp(Response::Kind::sessions);
    for (const mux::Session* s : registry_->list()) {
      SessionInfo i;
      i.name = s->name();
      i.cols = static_cast<uint32_t>(s->cols());
      i.rows = static_cast<uint32_t>(s->rows());
      i.created = s->created();
      i.last_activity = s->last_activity();
      i.command = s->command();
      i.clients = attachments_->clients(*s);
      i.stale_clients = attachments_->stale_clients(*s);
      if (s->ended()) i.exit_status = s->exit_status().value_or(-1);
      i.history_lines = s->history().end() - s->history().begin();
      i.history_dropped = s->history().begin();
      resp.sessions.push_back(std::move(i));
    }
    c.send(resp);
    c.finish();
  }

  void info(ControlConnection& c) {
    Response resp(Response::Kind::info);
    resp.info.pid = getpid();
    resp.info.version = ROAM_VERSION;
    resp.info.runtime_dir = dir_.path;
    resp.info.sessions = static_cast<uint32_t>(registry_->size());
    resp.info.udp_port = attachments_->port();
    resp.info.counters = attachments_->counters();
    c.send(resp);
    c.finish();
  }

  // Streams history plus the live screen as text, a chunk at a time.
  void history(ControlConnection& c, Request r) {
    mux::Session* s = registry_->find(r.name);
    if (!s) return reply(c, fail(fmt::format("no session named '{}'", r.name)));
    auto stream = std::make_shared<HistoryStream>(*s, r);
    c.stream([this, stream, name = r.name](ControlConnection& conn) {
      mux::Session* s = registry_->find(name);
      if (!s) {
        conn.send(Response{Response::Kind::error, fmt::format("session '{}' was killed", name)});
        return false;
      }
      std::string out;
      const bool more = stream->produce(*s, history_chunk, out);
      if (!out.empty()) conn.send(Response{Response::Kind::data, std::move(out)});
      if (more) return true;
      // Reading never removes a session, ended or not: only kill does, or a
      // client that has shown the end.
      conn.send(Response{Response::Kind::end});
      return false;
    });
  }


  std::unique_ptr<uv_loop_t> loop_ = std::make_unique<uv_loop_t>();
  const mux::History::Limits history_limits_ = history_limits_from_environment();
  RuntimeDir dir_;
  Claim claim_;
  std::optional<Attachments> attachments_;  // declared before the registry: outlives it
  std::optional<mux::Registry> registry_;
  std::optional<ControlServer> control_;
  UvHandle<uv_signal_t> sigchld_, sigterm_, sigint_;
  UvHandle<uv_timer_t> idle_, trim_;
  bool persist_;
  bool stopping_ = false;
  bool farewell_said_ = false;
};

}  // namespace

Result<Claim, ClaimError> claim_runtime_dir(const RuntimeDir& dir) {
  if (auto ok = prepare_runtime_dir(dir); !ok) return fail(ClaimError{false, ok.error()});
  Claim claim;
  claim.lock.reset(open(dir.lock().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!claim.lock) return fail(ClaimError{false, fmt::format("cannot open {}: {}", dir.lock(), std::strerror(errno))});
  if (flock(claim.lock.get(), LOCK_EX | LOCK_NB) != 0) {
    const std::string pid = read_small_file(claim.lock.get());
    return fail(ClaimError{true, fmt::format("a roam-server daemon is already running{}",
                                             pid.empty() ? "" : " (pid " + pid + ")")});
  }
  // Holding the lock, any socket left here is a crashed daemon's: replace it.
  const std::string path = dir.socket();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return fail(ClaimError{false, fmt::format("socket path too long: {}", path)});
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unlink(path.c_str());
  claim.listener.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!claim.listener ||
      bind(claim.listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      chmod(path.c_str(), 0600) != 0 || listen(claim.listener.get(), 64) != 0)
    return fail(ClaimError{false, fmt::format("cannot listen on {}: {}", path, std::strerror(errno))});
  return claim;
}

// Closes every fd above stderr but `keep`: whatever started us (a shell, an
// ssh session, a test) may have left pipes and sockets open to us.
void close_inherited_fds(std::initializer_list<int> keep) {
  std::vector<int> kept(keep);
  std::sort(kept.begin(), kept.end());
  unsigned from = 3;
  for (int fd : kept) {
    if (fd < 3) continue;
    if (static_cast<unsigned>(fd) > from) close_range(from, static_cast<unsigned>(fd) - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  close_range(from, ~0U, 0);
}

int run_daemon(const RuntimeDir& dir, Claim claim, bool foreground, bool persist) {
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  close_inherited_fds({claim.lock.get(), claim.listener.get()});
  if (!foreground) {
    // Detach twice so the daemon is in its own session and can never
    // acquire a controlling terminal. The socket already listens, so our
    // caller may connect as soon as this process exits.
    const pid_t first = fork();
    if (first < 0) {
      fmt::print(stderr, "roam-server: fork: {}\n", std::strerror(errno));
      return 1;
    }
    if (first > 0) {
      int status;
      waitpid(first, &status, 0);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    setsid();
    if (fork() != 0) _exit(0);
    if (chdir("/") != 0) _exit(1);
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
  }
  const std::string pid = std::to_string(getpid());
  if (ftruncate(claim.lock.get(), 0) == 0) (void)!pwrite(claim.lock.get(), pid.data(), pid.size(), 0);
  open_log(dir.log());
  Daemon daemon(dir, std::move(claim), persist);
  const int rc = daemon.run();
  return rc;
}

}  // namespace roam::server
