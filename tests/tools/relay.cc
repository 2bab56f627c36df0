// relay: a UDP impairment relay for tests and benchmarks on loopback. The
// client talks to the relay's listen port; the relay forwards to the server
// through an upstream socket, and the server's replies back to the client,
// each direction through its own Link (delay, jitter, loss, reordering,
// duplication, rate cap, outage). See usage() for the command line and the
// control commands.
#include "protocol/uv_handle.h"
#include "tests/tools/impairment.h"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <list>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace roam::relay {
namespace {

constexpr const char* usage_text = R"(usage: relay --server HOST:PORT [options]
       relay --ctl PATH ACTION...        (send ACTION to a running relay's control socket)

A UDP relay that impairs the path between a client and a server on loopback.
The client sends to the relay's listen port; the relay forwards to the server
from its upstream socket and sends the server's replies back to the client
(the address the most recent datagram on the listen port came from).
"up" is client->server, "down" is server->client.

  --listen PORT          port to listen on (default 0: any; see --port-file)
  --listen-host ADDR     address to listen on (default 127.0.0.1)
  --server HOST:PORT     where to forward to (required; [v6addr]:PORT for IPv6)
  --seed N               seed of the random choices (default 1): same seed, same run
  --port-file PATH       write the bound listen port there once listening
  --stats PATH           write counters as JSON there: every 100 ms while they
                         change, on SIGUSR1, on the `stats` command and at exit
  --trace PATH           write one line per datagram submitted: "SECONDS DIR
                         BYTES COPIES" (CLOCK_MONOTONIC seconds, the clock of
                         Python's time.perf_counter; DIR up or down; COPIES 0
                         when the link dropped it), flushed at exit
  --control PATH         unix stream socket taking ACTIONs, one per line; each
                         gets a one-line reply ("ok ..." or "error: ...")
  --schedule "T:ACTION;T:ACTION..."
                         run ACTIONs at T seconds (decimals allowed) after start;
                         '=' may stand for a space: "2:outage=3;6:rebind;8:set loss=0.1"
  --verbose              log events to stderr
  --help

Link parameters, for both directions, or one with --up-NAME / --down-NAME
(e.g. --up-loss 0.1 --down-delay 80):
  --delay MS             one-way delay
  --jitter MS            extra delay, uniform 0..MS (jitter alone keeps order)
  --loss P               drop probability 0..1
  --dup P                duplication probability 0..1
  --reorder P            probability that a datagram is held --reorder-gap longer,
                         so that later ones overtake it
  --reorder-gap MS       (default 20)
  --rate KBIT            rate cap in kbit/s with a transmit queue (0: none)
  --queue-ms MS          rate-cap backlog beyond which datagrams are dropped (default 1000)
  --queue-bytes N        same in bytes (default 0: no byte limit)

ACTIONs (control socket, --schedule, --ctl):
  outage SECONDS [up|down]   drop everything (one or both directions) for SECONDS
  rebind                 switch to a fresh upstream socket (new source port): the
                         server sees the client arrive from a new address (also SIGUSR2)
  replay [N]             resend a recorded client datagram from the upstream socket:
                         the Nth most recent (1 = last); default the oldest kept (of 64)
  replay-new [N]         same, from a fresh socket (a new address); whatever the server
                         sends to that address is counted (replay_source_received),
                         not forwarded
  garbage [COUNT] [SIZE] send COUNT (1) random datagrams of SIZE (random 1..1200)
                         bytes to the server from the upstream socket
  set [up|down] NAME VALUE [NAME VALUE...]
                         change link parameters (NAME as above without --, or up-NAME):
                         "set loss 0.3", "set down delay 150", "set rate 1000"
  stats                  reply with the counters (and write --stats)
  quit                   write the counters and exit

Signals: SIGUSR1 writes --stats, SIGUSR2 rebinds, SIGINT/SIGTERM exit cleanly.
)";

[[noreturn]] void fail(const std::string& message) {
  fmt::print(stderr, "relay: {}\n", message);
  std::exit(2);
}

void check_uv(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(fmt::format("{}: {}", what, uv_strerror(rc)));
}

std::optional<double> parse_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<std::string> split_words(std::string line) {
  std::replace(line.begin(), line.end(), '=', ' ');
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string address_string(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    uv_ip4_name(in, host, sizeof host);
    port = ntohs(in->sin_port);
    return fmt::format("{}:{}", host, port);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    uv_ip6_name(in6, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return fmt::format("[{}]:{}", host, port);
  }
  return "?";
}

sockaddr_storage resolve(const std::string& host_port) {
  std::string host, port;
  if (!host_port.empty() && host_port.front() == '[') {
    const auto close = host_port.find(']');
    if (close == std::string::npos || close + 1 >= host_port.size() || host_port[close + 1] != ':')
      throw std::runtime_error("bad address '" + host_port + "': expected [ADDR]:PORT");
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("bad address '" + host_port + "': expected HOST:PORT");
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res)
    throw std::runtime_error(fmt::format("cannot resolve '{}': {}", host_port, gai_strerror(rc)));
  sockaddr_storage out{};
  std::memcpy(&out, res->ai_addr, std::min<std::size_t>(res->ai_addrlen, sizeof out));
  freeaddrinfo(res);
  return out;
}

int port_of(const uv_udp_t* udp) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_udp_getsockname(udp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    if (!out) {
      fmt::print(stderr, "relay: cannot write {}\n", tmp);
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fmt::print(stderr, "relay: cannot rename {}: {}\n", tmp, std::strerror(errno));
}

struct Options {
  int listen_port = 0;
  std::string listen_host = "127.0.0.1";
  std::string server;
  std::uint64_t seed = 1;
  LinkParams up, down;
  std::string schedule, control, stats, port_file, trace;
  bool verbose = false;
};

struct ScheduledAction {
  double at_seconds;
  std::string action;
};

enum class Dir { up, down };

class Relay {
 public:
  Relay(uv_loop_t* loop, const Options& options);
  ~Relay() { shutdown(); }
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void start();
  // Runs one action; returns the reply ("ok ..." or "error: ..."). With
  // dry_run it only checks the action.
  std::string execute(const std::string& line, bool dry_run = false);
  std::string stats_json() const;

 private:
  struct Conn {
    Relay* relay = nullptr;
    UvHandle<uv_pipe_t> pipe;
    std::string buffer;
    bool closing = false;
    ~Conn() {
      if (pipe.get()) pipe.get()->data = nullptr;
    }
  };
  static constexpr std::size_t max_conns = 32;
  static constexpr std::size_t max_line = 4096;
  static constexpr std::size_t max_recorded = 64;

  Time now() const { return Time(static_cast<std::int64_t>((uv_hrtime() - start_ns_) / 1000)); }
  Link& link(Dir d) { return d == Dir::up ? up_ : down_; }
  UvHandle<uv_timer_t>& timer(Dir d) { return d == Dir::up ? up_timer_ : down_timer_; }
  template <class... Args>
  void log(fmt::format_string<Args...> f, Args&&... args) {
    if (options_.verbose) fmt::print(stderr, "relay: {}\n", fmt::format(f, std::forward<Args>(args)...));
  }

  UvHandle<uv_udp_t> open_udp(const sockaddr* bind_to, uv_udp_recv_cb cb);
  // A socket towards the server; by default what it receives goes down to the client.
  UvHandle<uv_udp_t> open_upstream(uv_udp_recv_cb cb = nullptr);
  void on_client(const uv_buf_t* buf, ssize_t nread, const sockaddr* addr);
  void on_server(const uv_buf_t* buf, ssize_t nread);
  void flush(Dir d);
  void send_to_server(const uv_udp_t* from, const std::vector<std::uint8_t>& data);
  void mark_dirty() { dirty_ = true; }
  void trace(Dir d, std::size_t bytes, int copies);
  void write_stats();
  void shutdown();
  void on_control_connection();
  void on_control_read(Conn* conn, ssize_t nread, const uv_buf_t* buf);
  void reply(Conn* conn, const std::string& text);
  void close_conn(Conn* conn);
  void run_schedule();
  std::string do_rebind();
  // The actions of execute() with arguments to check.
  std::string outage_action(const std::vector<std::string>& words, bool dry_run);
  std::string replay_action(const std::vector<std::string>& words, bool dry_run);
  std::string garbage_action(const std::vector<std::string>& words, bool dry_run);
  std::string set_action(const std::vector<std::string>& words, const std::string& line, bool dry_run);

  uv_loop_t* loop_;
  Options options_;
  std::uint64_t start_ns_ = uv_hrtime();
  sockaddr_storage server_addr_{};
  sockaddr_storage client_addr_{};
  bool have_client_ = false;
  Link up_, down_;
  std::uint64_t garbage_rng_;
  std::deque<std::vector<std::uint8_t>> recorded_;
  std::vector<ScheduledAction> schedule_;
  std::size_t next_scheduled_ = 0;
  bool dirty_ = true;
  bool stopped_ = false;
  std::uint64_t rebinds_ = 0, replays_ = 0, garbage_sent_ = 0, send_errors_ = 0, no_client_drops_ = 0;
  std::uint64_t replay_source_received_ = 0, commands_ = 0;
  int upstream_port_ = 0, listen_port_ = 0;
  std::vector<char> recv_buffer_ = std::vector<char>(65536);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> trace_{nullptr, &std::fclose};

  UvHandle<uv_udp_t> listen_, upstream_, replay_source_;
  UvHandle<uv_timer_t> up_timer_, down_timer_, schedule_timer_, stats_timer_;
  UvHandle<uv_signal_t> sigusr1_, sigusr2_, sigint_, sigterm_;
  UvHandle<uv_pipe_t> control_;
  std::list<Conn> conns_;
};

std::vector<ScheduledAction> parse_schedule(const std::string& text) {
  std::vector<ScheduledAction> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ';');) {
    if (item.find_first_not_of(" \t\n") == std::string::npos) continue;
    const auto colon = item.find(':');
    if (colon == std::string::npos) throw std::runtime_error("schedule entry '" + item + "': expected T:ACTION");
    const auto words = split_words(item.substr(0, colon));
    const auto t = words.size() == 1 ? parse_number(words[0]) : std::nullopt;
    if (!t || *t < 0) throw std::runtime_error("schedule entry '" + item + "': T must be seconds >= 0");
    out.push_back({*t, item.substr(colon + 1)});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.at_seconds < b.at_seconds; });
  return out;
}

Relay::Relay(uv_loop_t* loop, const Options& options)
    : loop_(loop),
      options_(options),
      up_(options.up, options.seed * 3 + 1),
      down_(options.down, options.seed * 3 + 2),
      garbage_rng_(options.seed * 3 + 3) {
  server_addr_ = resolve(options.server);
  schedule_ = parse_schedule(options.schedule);
  if (!options.trace.empty()) {
    trace_.reset(std::fopen(options.trace.c_str(), "we"));
    if (!trace_) throw std::runtime_error(fmt::format("--trace {}: {}", options.trace, std::strerror(errno)));
  }
  for (const auto& s : schedule_) {
    const auto r = execute(s.action, true);
    if (r.rfind("error", 0) == 0) throw std::runtime_error(fmt::format("schedule action '{}': {}", s.action, r));
  }
}

UvHandle<uv_udp_t> Relay::open_udp(const sockaddr* bind_to, uv_udp_recv_cb cb) {
  UvHandle<uv_udp_t> udp;
  check_uv(uv_udp_init(loop_, udp.get()), "udp socket");
  udp.get()->data = this;
  check_uv(uv_udp_bind(udp.get(), bind_to, 0), "bind");
  check_uv(uv_udp_recv_start(
               udp.get(),
               [](uv_handle_t* h, size_t, uv_buf_t* buf) {
                 auto* self = static_cast<Relay*>(h->data);
                 *buf = uv_buf_init(self->recv_buffer_.data(), static_cast<unsigned>(self->recv_buffer_.size()));
               },
               cb),
           "udp receive");
  return udp;
}

UvHandle<uv_udp_t> Relay::open_upstream(uv_udp_recv_cb cb) {
  sockaddr_storage any{};
  if (server_addr_.ss_family == AF_INET6) {
    check_uv(uv_ip6_addr("::", 0, reinterpret_cast<sockaddr_in6*>(&any)), "address");
  } else {
    check_uv(uv_ip4_addr("0.0.0.0", 0, reinterpret_cast<sockaddr_in*>(&any)), "address");
  }
  const uv_udp_recv_cb to_client = [](uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned) {
    if (nread < 0 || !addr) return;
    static_cast<Relay*>(h->data)->on_server(buf, nread);
  };
  return open_udp(reinterpret_cast<sockaddr*>(&any), cb ? cb : to_client);
}

void Relay::start() {
  sockaddr_storage listen_addr{};
  if (uv_ip4_addr(options_.listen_host.c_str(), options_.listen_port, reinterpret_cast<sockaddr_in*>(&listen_addr)) != 0 &&
      uv_ip6_addr(options_.listen_host.c_str(), options_.listen_port, reinterpret_cast<sockaddr_in6*>(&listen_addr)) != 0)
    throw std::runtime_error("bad --listen-host '" + options_.listen_host + "': expected a numeric address");
  listen_ = open_udp(reinterpret_cast<sockaddr*>(&listen_addr), [](uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned) {
    if (nread < 0 || !addr) return;
    static_cast<Relay*>(h->data)->on_client(buf, nread, addr);
  });
  listen_port_ = port_of(listen_.get());
  upstream_ = open_upstream();
  upstream_port_ = port_of(upstream_.get());

  for (auto* t : {&up_timer_, &down_timer_, &schedule_timer_, &stats_timer_}) {
    check_uv(uv_timer_init(loop_, t->get()), "timer");
    t->get()->data = this;
  }
  if (!options_.stats.empty()) {
    uv_timer_start(stats_timer_.get(), [](uv_timer_t* t) {
      auto* self = static_cast<Relay*>(t->data);
      if (self->dirty_) self->write_stats();
    }, 100, 100);
  }

  auto signal = [&](UvHandle<uv_signal_t>& s, int signum, uv_signal_cb cb) {
    check_uv(uv_signal_init(loop_, s.get()), "signal");
    s.get()->data = this;
    check_uv(uv_signal_start(s.get(), cb, signum), "signal");
  };
  signal(sigusr1_, SIGUSR1, [](uv_signal_t* s, int) { static_cast<Relay*>(s->data)->write_stats(); });
  signal(sigusr2_, SIGUSR2, [](uv_signal_t* s, int) {
    auto* self = static_cast<Relay*>(s->data);
    self->log("SIGUSR2: {}", self->do_rebind());
  });
  signal(sigint_, SIGINT, [](uv_signal_t* s, int) { static_cast<Relay*>(s->data)->shutdown(); });
  signal(sigterm_, SIGTERM, [](uv_signal_t* s, int) { static_cast<Relay*>(s->data)->shutdown(); });

  if (!options_.control.empty()) {
    struct stat st{};
    if (lstat(options_.control.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(options_.control.c_str());
    check_uv(uv_pipe_init(loop_, control_.get(), 0), "control socket");
    control_.get()->data = this;
    check_uv(uv_pipe_bind(control_.get(), options_.control.c_str()), ("control socket " + options_.control).c_str());
    check_uv(uv_listen(control_.stream(), 8, [](uv_stream_t* s, int status) {
               if (status == 0) static_cast<Relay*>(s->data)->on_control_connection();
             }),
             "control socket listen");
  }

  if (!schedule_.empty()) run_schedule();
  log("listening on {}:{}, forwarding to {} from port {}", options_.listen_host, listen_port_,
      address_string(reinterpret_cast<sockaddr*>(&server_addr_)), upstream_port_);
  if (!options_.port_file.empty()) write_file_atomically(options_.port_file, fmt::format("{}\n", listen_port_));
  write_stats();
}

void Relay::on_client(const uv_buf_t* buf, ssize_t nread, const sockaddr* addr) {
  const std::size_t len = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (!have_client_ || std::memcmp(&client_addr_, addr, len) != 0) {
    client_addr_ = {};
    std::memcpy(&client_addr_, addr, len);
    have_client_ = true;
    log("client is {}", address_string(addr));
  }
  std::vector<std::uint8_t> data(buf->base, buf->base + nread);
  recorded_.push_back(data);
  if (recorded_.size() > max_recorded) recorded_.pop_front();
  const std::size_t bytes = data.size();
  trace(Dir::up, bytes, up_.submit(now(), std::move(data)));
  mark_dirty();
  flush(Dir::up);
}

void Relay::on_server(const uv_buf_t* buf, ssize_t nread) {
  trace(Dir::down, static_cast<std::size_t>(nread), down_.submit(now(), std::vector<std::uint8_t>(buf->base, buf->base + nread)));
  mark_dirty();
  flush(Dir::down);
}

void Relay::trace(Dir d, std::size_t bytes, int copies) {
  if (!trace_) return;
  fmt::print(trace_.get(), "{:.6f} {} {} {}\n", static_cast<double>(uv_hrtime()) / 1e9, d == Dir::up ? "up" : "down", bytes, copies);
}

void Relay::send_to_server(const uv_udp_t* from, const std::vector<std::uint8_t>& data) {
  uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data.data())), static_cast<unsigned>(data.size()));
  if (uv_udp_try_send(const_cast<uv_udp_t*>(from), &b, 1, reinterpret_cast<const sockaddr*>(&server_addr_)) < 0) ++send_errors_;
}

void Relay::flush(Dir d) {
  if (stopped_) return;
  for (const auto& data : link(d).pop_due(now())) {
    if (d == Dir::up) {
      send_to_server(upstream_.get(), data);
    } else if (!have_client_) {
      ++no_client_drops_;
    } else {
      uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data.data())), static_cast<unsigned>(data.size()));
      if (uv_udp_try_send(listen_.get(), &b, 1, reinterpret_cast<const sockaddr*>(&client_addr_)) < 0) ++send_errors_;
    }
  }
  mark_dirty();
  uv_timer_t* t = timer(d).get();
  if (const auto due = link(d).next_due()) {
    const auto wait_us = std::max<std::int64_t>(0, (*due - now()).count());
    const auto wait_ms = static_cast<std::uint64_t>((wait_us + 999) / 1000);
    t->data = this;
    const uv_timer_cb up_cb = [](uv_timer_t* h) { static_cast<Relay*>(h->data)->flush(Dir::up); };
    const uv_timer_cb down_cb = [](uv_timer_t* h) { static_cast<Relay*>(h->data)->flush(Dir::down); };
    uv_timer_start(t, d == Dir::up ? up_cb : down_cb, wait_ms, 0);
  } else {
    uv_timer_stop(t);
  }
}

std::string Relay::do_rebind() {
  try {
    auto fresh = open_upstream();
    upstream_ = std::move(fresh);  // closes the old socket: stragglers to it are lost, as with a NAT rebinding
    upstream_port_ = port_of(upstream_.get());
    ++rebinds_;
    write_stats();
    return fmt::format("ok upstream port {}", upstream_port_);
  } catch (const std::exception& e) {
    return fmt::format("error: rebind: {}", e.what());
  }
}

namespace {
// Word i as a number, if there is one.
std::optional<double> number_at(const std::vector<std::string>& words, std::size_t i) {
  return i < words.size() ? parse_number(words[i]) : std::nullopt;
}
}  // namespace

std::string Relay::outage_action(const std::vector<std::string>& words, bool dry_run) {
  const auto secs = number_at(words, 1);
  if (!secs || *secs < 0 || words.size() > 3) return "error: usage: outage SECONDS [up|down]";
  const std::string which = words.size() == 3 ? words[2] : "both";
  if (which != "up" && which != "down" && which != "both") return "error: usage: outage SECONDS [up|down]";
  if (dry_run) return "ok";
  const Time until = now() + Time(static_cast<std::int64_t>(*secs * 1e6));
  if (which != "down") up_.outage(until);
  if (which != "up") down_.outage(until);
  log("outage of {} s ({})", *secs, which);
  write_stats();
  return fmt::format("ok outage {} s {}", *secs, which);
}

std::string Relay::replay_action(const std::vector<std::string>& words, bool dry_run) {
  const std::string& verb = words[0];
  const auto n = number_at(words, 1);
  if (words.size() > 2 || (words.size() == 2 && (!n || *n < 1 || *n != std::floor(*n))))
    return fmt::format("error: usage: {} [N]", verb);
  if (dry_run) return "ok";
  if (recorded_.empty()) return "error: nothing recorded yet";
  const std::size_t back = n ? static_cast<std::size_t>(*n) : recorded_.size();
  if (back > recorded_.size()) return fmt::format("error: only {} datagrams recorded", recorded_.size());
  const auto& data = recorded_[recorded_.size() - back];
  const uv_udp_t* from = upstream_.get();
  if (verb == "replay-new") {
    try {
      replay_source_ = open_upstream([](uv_udp_t* h, ssize_t nread, const uv_buf_t*, const sockaddr* addr, unsigned) {
        if (nread < 0 || !addr) return;
        auto* self = static_cast<Relay*>(h->data);
        ++self->replay_source_received_;
        self->mark_dirty();
      });
    } catch (const std::exception& e) {
      return fmt::format("error: {}", e.what());
    }
    from = replay_source_.get();
  }
  send_to_server(from, data);
  ++replays_;
  write_stats();
  log("{}: {} bytes, {} back, from port {}", verb, data.size(), back, port_of(from));
  return fmt::format("ok replayed {} bytes from port {}", data.size(), port_of(from));
}

std::string Relay::garbage_action(const std::vector<std::string>& words, bool dry_run) {
  const auto count = words.size() > 1 ? number_at(words, 1) : std::optional<double>(1);
  const auto size = words.size() > 2 ? number_at(words, 2) : std::optional<double>(0);
  if (words.size() > 3 || !count || *count < 0 || *count > 100000 || !size || *size < 0 || *size > 65000)
    return "error: usage: garbage [COUNT<=100000] [SIZE<=65000]";
  if (dry_run) return "ok";
  std::uint64_t bytes = 0;
  for (int i = 0; i < static_cast<int>(*count); ++i) {
    auto next = [&] {  // splitmix64
      std::uint64_t z = (garbage_rng_ += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      return z ^ (z >> 31);
    };
    const std::size_t len = *size > 0 ? static_cast<std::size_t>(*size) : 1 + next() % 1200;
    std::vector<std::uint8_t> data(len);
    for (auto& b : data) b = static_cast<std::uint8_t>(next());
    send_to_server(upstream_.get(), data);
    bytes += len;
    ++garbage_sent_;
  }
  write_stats();
  return fmt::format("ok sent {} garbage datagrams, {} bytes", static_cast<int>(*count), bytes);
}

std::string Relay::set_action(const std::vector<std::string>& words, const std::string& line, bool dry_run) {
  std::size_t i = 1;
  std::string dir = "both";
  if (i < words.size() && (words[i] == "up" || words[i] == "down" || words[i] == "both")) dir = words[i++];
  if (i >= words.size() || (words.size() - i) % 2 != 0) return "error: usage: set [up|down] NAME VALUE [NAME VALUE...]";
  LinkParams up = up_.params(), down = down_.params();
  for (; i < words.size(); i += 2) {
    std::string name = words[i], d = dir;
    if (name.rfind("up-", 0) == 0) d = "up", name = name.substr(3);
    else if (name.rfind("down-", 0) == 0) d = "down", name = name.substr(5);
    const auto v = parse_number(words[i + 1]);
    if (!v) return fmt::format("error: {}: '{}' is not a number", name, words[i + 1]);
    if (d != "down")
      if (auto err = set_param(up, name, *v)) return "error: " + *err;
    if (d != "up")
      if (auto err = set_param(down, name, *v)) return "error: " + *err;
  }
  if (dry_run) return "ok";
  up_.set_params(up);
  down_.set_params(down);
  log("set {}", line);
  write_stats();
  return "ok";
}

std::string Relay::execute(const std::string& line, bool dry_run) {
  const auto words = split_words(line);
  if (words.empty()) return "error: empty action";
  const std::string& verb = words[0];
  if (!dry_run) ++commands_;

  if (verb == "outage") return outage_action(words, dry_run);
  if (verb == "rebind") {
    if (words.size() != 1) return "error: usage: rebind";
    if (dry_run) return "ok";
    const auto r = do_rebind();
    log("rebind: {}", r);
    return r;
  }
  if (verb == "replay" || verb == "replay-new") return replay_action(words, dry_run);
  if (verb == "garbage") return garbage_action(words, dry_run);
  if (verb == "set") return set_action(words, line, dry_run);
  if (verb == "stats") {
    if (dry_run) return "ok";
    write_stats();
    return stats_json();
  }
  if (verb == "quit") {
    if (dry_run) return "ok";
    // After this reply has gone out.
    uv_timer_start(schedule_timer_.get(), [](uv_timer_t* t) { static_cast<Relay*>(t->data)->shutdown(); }, 0, 0);
    return "ok bye";
  }
  if (verb == "help") return "ok actions: outage rebind replay replay-new garbage set stats quit (see relay --help)";
  return fmt::format("error: unknown action '{}' (see relay --help)", verb);
}

std::string Relay::stats_json() const {
  auto dir = [](const Link& l) {
    const auto& s = l.stats();
    const auto& p = l.params();
    return fmt::format(
        R"({{"packets":{},"bytes":{},"sent_packets":{},"sent_bytes":{},"dropped":{},"dropped_loss":{},)"
        R"("dropped_outage":{},"dropped_queue":{},"duplicated":{},"reordered":{},"queued":{},)"
        R"("params":{{"delay":{},"jitter":{},"loss":{},"dup":{},"reorder":{},"rate":{}}}}})",
        s.packets, s.bytes, s.sent_packets, s.sent_bytes, s.dropped(), s.dropped_loss, s.dropped_outage, s.dropped_queue,
        s.duplicated, s.reordered, l.inflight_packets(), p.delay_ms, p.jitter_ms, p.loss, p.dup, p.reorder, p.rate_kbit);
  };
  const std::string client =
      have_client_ ? fmt::format("\"{}\"", address_string(reinterpret_cast<const sockaddr*>(&client_addr_))) : "null";
  return fmt::format(
      R"({{"up":{},"down":{},"rebinds":{},"replays":{},"garbage":{},"replay_source_received":{},)"
      R"("send_errors":{},"dropped_no_client":{},"commands":{},"client":{},"listen_port":{},"upstream_port":{}}})",
      dir(up_), dir(down_), rebinds_, replays_, garbage_sent_, replay_source_received_, send_errors_, no_client_drops_,
      commands_, client, listen_port_, upstream_port_);
}

void Relay::write_stats() {
  dirty_ = false;
  if (!options_.stats.empty()) write_file_atomically(options_.stats, stats_json() + "\n");
}

void Relay::run_schedule() {
  const double elapsed = static_cast<double>(now().count()) / 1e6;
  while (next_scheduled_ < schedule_.size() && schedule_[next_scheduled_].at_seconds <= elapsed) {
    const auto& s = schedule_[next_scheduled_++];
    const auto r = execute(s.action);
    log("schedule {} s: {} -> {}", s.at_seconds, s.action, r);
    if (stopped_) return;
  }
  if (next_scheduled_ < schedule_.size()) {
    const double wait = schedule_[next_scheduled_].at_seconds - elapsed;
    uv_timer_start(schedule_timer_.get(), [](uv_timer_t* t) { static_cast<Relay*>(t->data)->run_schedule(); },
                   static_cast<std::uint64_t>(std::ceil(wait * 1000)), 0);
  }
}

void Relay::on_control_connection() {
  if (conns_.size() >= max_conns) {
    UvHandle<uv_pipe_t> reject;
    if (uv_pipe_init(loop_, reject.get(), 0) == 0) uv_accept(control_.stream(), reject.stream());
    return;  // closed by the destructor
  }
  Conn& conn = conns_.emplace_back();
  conn.relay = this;
  if (uv_pipe_init(loop_, conn.pipe.get(), 0) != 0 || uv_accept(control_.stream(), conn.pipe.stream()) != 0) {
    conns_.pop_back();
    return;
  }
  conn.pipe.get()->data = &conn;
  uv_read_start(
      conn.pipe.stream(),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char chunk[4096];
        *buf = uv_buf_init(chunk, sizeof chunk);
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        if (auto* c = static_cast<Conn*>(s->data)) c->relay->on_control_read(c, nread, buf);
      });
}

void Relay::on_control_read(Conn* conn, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    if (nread != UV_EOF || conn->closing) {
      close_conn(conn);
      return;
    }
    // End of the commands: reply what is pending, then close.
    conn->closing = true;
    uv_read_stop(conn->pipe.stream());
    auto* req = new uv_shutdown_t;
    if (uv_shutdown(req, conn->pipe.stream(), [](uv_shutdown_t* r, int) {
          auto* c = static_cast<Conn*>(r->handle->data);
          delete r;
          if (c) c->relay->close_conn(c);
        }) != 0) {
      delete req;
      close_conn(conn);
    }
    return;
  }
  conn->buffer.append(buf->base, static_cast<std::size_t>(nread));
  std::size_t nl;
  while (!stopped_ && (nl = conn->buffer.find('\n')) != std::string::npos) {
    std::string line = conn->buffer.substr(0, nl);
    conn->buffer.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string r = execute(line);
    if (stopped_) return;  // quit: every handle, this one included, is closed
    reply(conn, r);
  }
  if (conn->buffer.size() > max_line) {
    reply(conn, "error: line too long");
    close_conn(conn);
  }
}

void Relay::reply(Conn* conn, const std::string& text) {
  struct WriteReq {
    uv_write_t req;
    std::string data;
  };
  auto* w = new WriteReq{{}, text + "\n"};
  uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  if (uv_write(&w->req, conn->pipe.stream(), &b, 1, [](uv_write_t* r, int) { delete reinterpret_cast<WriteReq*>(r); }) != 0)
    delete w;
}

void Relay::close_conn(Conn* conn) {
  conns_.remove_if([conn](const Conn& c) { return &c == conn; });
}

void Relay::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  write_stats();
  if (trace_) std::fflush(trace_.get());
  conns_.clear();
  for (auto* u : {&listen_, &upstream_, &replay_source_}) u->close();
  for (auto* t : {&up_timer_, &down_timer_, &schedule_timer_, &stats_timer_}) t->close();
  for (auto* s : {&sigusr1_, &sigusr2_, &sigint_, &sigterm_}) s->close();
  if (control_.get()) {
    control_.close();
    unlink(options_.control.c_str());
  }
  log("stopped");
}

// --ctl PATH ACTION...: a small client for people and scripts.
int control_client(const std::string& path, const std::string& action) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) fail("control socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail(fmt::format("cannot connect to {}: {}", path, std::strerror(errno)));
  const std::string line = action + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) fail("cannot send the action");
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
  close(fd);
  fmt::print("{}", reply);
  return reply.rfind("error", 0) == 0 || reply.empty() ? 1 : 0;
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    bool has_value = false;
    if (const auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    if (flag == "--help" || flag == "-h") {
      fmt::print("{}", usage_text);
      std::exit(0);
    }
    if (flag == "--verbose" || flag == "-v") {
      o.verbose = true;
      continue;
    }
    if (flag.rfind("--", 0) != 0) fail(fmt::format("unexpected argument '{}' (see --help)", flag));
    if (!has_value) {
      if (i + 1 >= args.size()) fail(fmt::format("{} needs a value (see --help)", flag));
      value = args[++i];
    }
    const std::string name = flag.substr(2);
    auto integer = [&](long long lo, long long hi) {
      const auto v = parse_number(value);
      if (!v || *v != std::floor(*v) || *v < static_cast<double>(lo) || *v > static_cast<double>(hi))
        fail(fmt::format("{}: '{}' is not an integer in {}..{}", flag, value, lo, hi));
      return static_cast<long long>(*v);
    };
    if (name == "listen") o.listen_port = static_cast<int>(integer(0, 65535));
    else if (name == "listen-host") o.listen_host = value;
    else if (name == "server") o.server = value;
    else if (name == "seed") o.seed = static_cast<std::uint64_t>(integer(0, (1LL << 53)));
    else if (name == "schedule") o.schedule = value;
    else if (name == "control") o.control = value;
    else if (name == "stats") o.stats = value;
    else if (name == "trace") o.trace = value;
    else if (name == "port-file") o.port_file = value;
    else {
      std::string param = name, dir = "both";
      if (param.rfind("up-", 0) == 0) dir = "up", param = param.substr(3);
      else if (param.rfind("down-", 0) == 0) dir = "down", param = param.substr(5);
      const auto v = parse_number(value);
      if (!v) fail(fmt::format("{}: '{}' is not a number", flag, value));
      LinkParams probe;
      if (auto err = set_param(probe, param, *v)) fail(fmt::format("{}: {} (see --help)", flag, *err));
      if (dir != "down") set_param(o.up, param, *v);
      if (dir != "up") set_param(o.down, param, *v);
    }
  }
  if (o.server.empty()) fail("--server HOST:PORT is required (see --help)");
  return o;
}

}  // namespace
}  // namespace roam::relay

int main(int argc, char** argv) {
  using namespace roam::relay;
  if (argc >= 2 && std::string(argv[1]) == "--ctl") {
    if (argc < 4) fail("usage: relay --ctl PATH ACTION...");
    std::string action;
    for (int i = 3; i < argc; ++i) action += (i > 3 ? " " : "") + std::string(argv[i]);
    return control_client(argv[2], action);
  }
  const Options options = parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) fail("cannot start the event loop");
  int rc = 0;
  try {
    Relay relay(&loop, options);
    relay.start();
    uv_run(&loop, UV_RUN_DEFAULT);
  } catch (const std::exception& e) {
    fmt::print(stderr, "relay: {}\n", e.what());
    rc = 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // let the closed handles go
  if (uv_loop_close(&loop) != 0) fmt::print(stderr, "relay: event loop still busy at exit\n");
  return rc;
}
