// Hostile input, end to end: crafted and flooded datagrams on the server's
// UDP port, abusive control-socket clients, and a terminal program writing
// escape sequences with absurd parameters. The real client keeps working,
// the daemon stays responsive, memory stays bounded, and drops are counted.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "protocol/crypto.h"
#include "protocol/datagram.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/relay_process.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// How much a flood may grow the daemon's resident memory. Under ASan freed
// memory waits in its quarantine (up to 256 MB) instead of being reused, so
// churn alone grows RSS there; the limit then only catches gross growth.
#ifdef __SANITIZE_ADDRESS__
constexpr long long rss_growth_kb = 48 * 1024;
#else
constexpr long long rss_growth_kb = 8 * 1024;
#endif

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// `roam-server attach NAME --size 80x24 [-- CMD]`, which must work.
ConnectLine attach_line(Sandbox& sb, const std::string& name, std::vector<std::string> command = {}) {
  const auto c = sb.attach_line(name, std::move(command));
  REQUIRE(c.has_value());
  return *c;
}



// User+system CPU time of a process, in milliseconds.
long long cpu_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) {
      stime = std::stoll(field);
      break;
    }
  }
  return (utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

// How long `roam ls` takes, and whether it succeeded.
std::pair<bool, long long> timed_ls(Sandbox& sb) {
  const auto t0 = Clock::now();
  RunOptions o;
  o.timeout = 10s;
  const Run r = sb.roam({"ls"}, o);
  return {r.status == 0, ms_since(t0)};
}

class Udp {
 public:
  explicit Udp(int port) : fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_ >= 0);
    to_.sin_family = AF_INET;
    to_.sin_port = htons(static_cast<uint16_t>(port));
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int big = 1 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  }
  ~Udp() { close(fd_); }
  bool send(std::span<const uint8_t> d) {
    return sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_) ==
           static_cast<ssize_t>(d.size());
  }

 private:
  int fd_;
  sockaddr_in to_{};
};

std::vector<uint8_t> with_id(uint64_t id, size_t size, std::mt19937_64& rng) {
  std::vector<uint8_t> d(size);
  for (auto& b : d) b = static_cast<uint8_t>(rng());
  for (int i = 0; i < 8 && i < static_cast<int>(size); ++i) d[i] = static_cast<uint8_t>(id >> (8 * i));
  return d;
}

std::vector<uint8_t> random_bytes(size_t n, std::mt19937_64& rng) {
  std::vector<uint8_t> d(n);
  for (auto& b : d) b = static_cast<uint8_t>(rng());
  return d;
}

// Sends with a little pacing, so loopback buffers never overflow and every
// datagram reaches the daemon even on a loaded machine.
void paced(Udp& u, const std::vector<uint8_t>& d, int& count) {
  if (u.send(d)) ++count;
  if (count % 20 == 0) std::this_thread::sleep_for(2ms);
}

long long delta(std::map<std::string, long long>& after, std::map<std::string, long long>& before,
                const std::string& key) {
  return after[key] - before[key];
}

}  // namespace

TEST_CASE("crafted datagrams with a valid connection id are dropped and counted; the client keeps working") {
  Sandbox sb;
  const ConnectLine c = attach_line(sb, "abused", {"/bin/sh"});
  RelayProcess relay(sb.dir(), c.port, {});
  auto client = connect_client(c, relay.port());
  REQUIRE(client->wait_for_text("rdy>"));
  client->type("echo first-echo\r");
  REQUIRE(client->wait_for_text("\nfirst-echo\n"));
  const auto pid = sb.daemon_pid();
  REQUIRE(pid);

  const auto id = roam::parse_conn_id(c.id);
  const auto key = roam::crypto::Key::from_base64(c.key);
  REQUIRE(id);
  REQUIRE(key);

  // A second attachment whose client detaches: afterwards its id routes nowhere.
  const ConnectLine gone = attach_line(sb, "abused");
  {
    auto second = connect_client(gone, gone.port);
    REQUIRE(second->wait_for_text("rdy>"));
    second->type("\x1e" "d");
    REQUIRE(second->wait_exit().has_value());
  }
  REQUIRE(wait_until([&] { return sb.info_numbers()["attachments"] == 1; }, 20s));

  client->pump(500ms);
  auto before = sb.info_numbers();
  const long long rss_before = proc_status_kb(*pid, "VmRSS");
  std::mt19937_64 rng(42);
  Udp udp(c.port);
  constexpr int rounds = 5;  // everything several times, so growth would show
  int garbage = 0, cut_short = 0, cut_auth = 0, wrong_dir = 0, oversized = 0, detached = 0, unknown = 0,
      authentic_junk = 0;
  for (int round = 0; round < rounds; ++round) {
    // Valid connection id, random body of any length that could hold a tag.
    for (int i = 0; i < 400; ++i) paced(udp, with_id(*id, 40 + rng() % 1240, rng), garbage);
    // A real datagram cut short: too short to hold a header and tag (malformed),
    // or long enough but with its tag cut off (fails authentication).
    roam::DatagramCodec sealer(*key, *id, roam::crypto::Direction::to_server);
    for (int i = 0; i < 200; ++i) {
      const auto payload = random_bytes(300, rng);
      auto sealed = sealer.seal(0, 0xffff, payload);
      REQUIRE(sealed);
      std::vector<uint8_t> d(sealed->begin(), sealed->end());
      std::vector<uint8_t> shortened(d.begin(), d.begin() + 9 + static_cast<long>(rng() % 27));  // 9..35 bytes
      paced(udp, shortened, cut_short);
      std::vector<uint8_t> no_tag(d.begin(), d.begin() + 40 + static_cast<long>(rng() % (d.size() - 41)));
      paced(udp, no_tag, cut_auth);
    }
    // Sealed with the right key but claiming to come from the server.
    roam::DatagramCodec reflector(*key, *id, roam::crypto::Direction::to_client);
    for (int i = 0; i < 200; ++i) {
      auto sealed = reflector.seal(0, 0xffff, random_bytes(100, rng));
      REQUIRE(sealed);
      paced(udp, std::vector<uint8_t>(sealed->begin(), sealed->end()), wrong_dir);
    }
    // 64 KiB (the largest IPv4 UDP datagram) with the valid id.
    for (int i = 0; i < 20; ++i) {
      if (udp.send(with_id(*id, 65507, rng))) ++oversized;
      std::this_thread::sleep_for(5ms);
    }
    // Authentic datagrams for the detached attachment, and random ids.
    const auto gone_id = roam::parse_conn_id(gone.id);
    const auto gone_key = roam::crypto::Key::from_base64(gone.key);
    roam::DatagramCodec ghost(*gone_key, *gone_id, roam::crypto::Direction::to_server);
    for (int i = 0; i < 200; ++i) {
      auto sealed = ghost.seal(0, 0xffff, random_bytes(100, rng));
      REQUIRE(sealed);
      paced(udp, std::vector<uint8_t>(sealed->begin(), sealed->end()), detached);
      paced(udp, with_id(rng(), 100, rng), unknown);
    }
  }
  // Authentic, but the payload is no fragment: decoded, refused, counted.
  // Low sequence numbers, below the client's, so the server has no reason to
  // move to our address.
  {
    roam::DatagramCodec sealer(*key, *id, roam::crypto::Direction::to_server);
    for (int i = 0; i < 3; ++i) {
      auto sealed = sealer.seal(0, 0xffff, std::vector<uint8_t>(200, 0xff));
      REQUIRE(sealed);
      if (udp.send(std::vector<uint8_t>(sealed->begin(), sealed->end()))) ++authentic_junk;
    }
  }
  // Replays of the client's own datagrams, old and new, through the relay.
  CHECK(contains(relay.ctl("replay"), "ok"));
  CHECK(contains(relay.ctl("replay-new 3"), "ok"));

  // The daemon has read everything once it answers the control socket and the counters settle.
  long long last = -1;
  wait_until([&] {
    auto now = sb.info_numbers();
    long long sum = 0;
    for (const auto& [k, v] : now)
      if (k.rfind("dropped_", 0) == 0) sum += v;
    const bool settled = sum == last;
    last = sum;
    return settled;
  }, 10s);
  auto after = sb.info_numbers();
  const long long rss_after = proc_status_kb(*pid, "VmRSS");
  MESSAGE("sent: garbage ", garbage, ", cut short ", cut_short, ", tag cut ", cut_auth, ", wrong direction ",
          wrong_dir, ", oversized ", oversized, ", detached ", detached, ", unknown id ", unknown,
          ", authentic junk ", authentic_junk);
  MESSAGE("counted: dropped_auth +", delta(after, before, "dropped_auth"), ", dropped_direction +",
          delta(after, before, "dropped_direction"), ", dropped_malformed +", delta(after, before, "dropped_malformed"),
          ", dropped_oversized +", delta(after, before, "dropped_oversized"), ", dropped_unroutable +",
          delta(after, before, "dropped_unroutable"), ", dropped_unknown_state +",
          delta(after, before, "dropped_unknown_state"), ", dropped_stale +", delta(after, before, "dropped_stale"));
  MESSAGE("daemon VmRSS ", rss_before, " kB before, ", rss_after, " kB after");

  // Loopback with pacing loses nothing, but allow 10% for a starved daemon.
  auto most = [](long long n) { return n * 9 / 10; };
  // The direction bit is checked before the tag, so random bodies whose
  // sequence field has its top bit set count as "direction", the rest as "auth".
  CHECK(delta(after, before, "dropped_auth") >= most(cut_auth));
  CHECK(delta(after, before, "dropped_direction") >= most(wrong_dir));
  CHECK(delta(after, before, "dropped_auth") + delta(after, before, "dropped_direction") >=
        most(garbage + cut_auth + wrong_dir));
  CHECK(delta(after, before, "dropped_malformed") >= most(cut_short + authentic_junk));
  CHECK(delta(after, before, "dropped_oversized") >= most(oversized));
  CHECK(delta(after, before, "dropped_unroutable") >= most(detached + unknown));
  CHECK(after["attachments"] == 1);
  CHECK(rss_after - rss_before < rss_growth_kb);

  // The real client is still served, at its own address.
  client->type("echo still-served\r");
  CHECK(client->wait_for_text("\nstill-served\n", 15s));
}

TEST_CASE("a flood of 10,000 random datagrams per second for 10 s does not stop a live session's echo") {
  Sandbox sb;
  const ConnectLine c = attach_line(sb, "flooded", {"/bin/sh"});
  auto client = connect_client(c, c.port);
  REQUIRE(client->wait_for_text("rdy>"));
  client->type("echo pre-flood\r");
  REQUIRE(client->wait_for_text("\npre-flood\n"));
  const auto pid = sb.daemon_pid();
  REQUIRE(pid);
  const auto id = roam::parse_conn_id(c.id);
  REQUIRE(id);
  auto before = sb.info_numbers();
  const long long rss_before = proc_status_kb(*pid, "VmRSS");
  const long long cpu_before = cpu_ms(*pid);

  std::atomic<bool> stop{false};
  std::atomic<long long> sent{0};
  long long flood_ms = 0;
  std::thread flood([&] {
    Udp udp(c.port);
    std::mt19937_64 rng(7);
    const auto start = Clock::now();
    constexpr long long rate = 10'000, seconds = 10;
    long long n = 0;
    while (!stop && n < rate * seconds && ms_since(start) < (seconds + 5) * 1000) {
      // Keep to the schedule: n datagrams by n/rate seconds.
      const long long due = ms_since(start) * rate / 1000;
      if (n >= due) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      for (; n < due && n < rate * seconds; ++n) {
        const bool ours = rng() % 2 == 0;
        const auto d = ours ? with_id(*id, 1 + rng() % 1280, rng) : random_bytes(1 + rng() % 1280, rng);
        if (udp.send(d)) ++sent;
      }
    }
    flood_ms = ms_since(start);
  });

  int echoed = 0, tries = 0;
  long long worst_ms = 0;
  const auto flood_start = Clock::now();
  while (ms_since(flood_start) < 10'000) {
    ++tries;
    const std::string word = "flood-echo-" + std::to_string(tries);
    const auto t0 = Clock::now();
    client->type("echo " + word + "\r");
    if (client->wait_for_text("\n" + word + "\n", 10s)) {
      ++echoed;
      worst_ms = std::max(worst_ms, ms_since(t0));
    }
    client->pump(500ms);
  }
  stop = true;
  flood.join();
  // The daemon has read what the flood left in its socket once its
  // counters hold still.
  auto after = sb.info_numbers();
  REQUIRE(wait_until([&] {
    auto again = sb.info_numbers();
    const bool still = again == after;
    after = std::move(again);
    return still;
  }, 30s));
  const long long rss_after = proc_status_kb(*pid, "VmRSS");
  const long long cpu_after = cpu_ms(*pid);
  long long dropped = 0;
  for (const auto& [k, v] : after)
    if (k.rfind("dropped_", 0) == 0) dropped += v - before[k];
  MESSAGE("flood: ", sent.load(), " datagrams in ", flood_ms, " ms (", sent * 1000 / std::max(1LL, flood_ms),
          "/s); daemon counted ", dropped, " drops, used ", cpu_after - cpu_before, " ms CPU");
  MESSAGE("echoes during the flood: ", echoed, " of ", tries, ", slowest ", worst_ms, " ms");
  MESSAGE("daemon VmRSS ", rss_before, " kB before, ", rss_after, " kB after");
  CHECK(sent >= 95'000);
  CHECK(echoed == tries);
  CHECK(tries >= 3);
  CHECK(dropped >= sent / 2);  // the kernel may drop some when the daemon is starved
  CHECK(rss_after - rss_before < rss_growth_kb);
  client->type("echo post-flood\r");
  CHECK(client->wait_for_text("\npost-flood\n", 10s));
}

TEST_CASE("control-socket clients that send huge or malformed requests, or nothing, do not block others") {
  Sandbox sb;
  const Run made = sb.server({"new", "calm", "--", "/bin/sh"});
  REQUIRE_MESSAGE(made.status == 0, made.err);
  const std::string path = sb.runtime() + "/server.sock";
  auto dial = [&] {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
  };
  auto write_all = [](int fd, const std::vector<uint8_t>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  };
  // Whether the daemon has closed this connection (answered or not) within `wait`.
  auto closed_within = [](int fd, std::chrono::milliseconds wait) {
    const auto start = Clock::now();
    char buf[4096];
    while (ms_since(start) < wait.count()) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return true;
      }
    }
    return false;
  };
  std::mt19937_64 rng(3);

  // A 4 GiB length prefix.
  const int huge = dial();
  CHECK(write_all(huge, {0xff, 0xff, 0xff, 0xff}));
  // Garbage, 64 KiB of it.
  const int garbage = dial();
  CHECK(write_all(garbage, random_bytes(64 * 1024, rng)));
  // A whole frame of the largest allowed size whose body is garbage.
  const int malformed = dial();
  std::vector<uint8_t> frame{0x00, 0x00, 0x01, 0x00};  // 65536, little-endian
  const auto body = random_bytes(65536, rng);
  frame.insert(frame.end(), body.begin(), body.end());
  CHECK(write_all(malformed, frame));
  // Half a request, then silence; and 50 that never speak.
  const int half = dial();
  CHECK(write_all(half, {100, 0, 0, 0, 1, 2}));
  std::vector<int> silent;
  for (int i = 0; i < 50; ++i) silent.push_back(dial());

  long long slowest = 0;
  for (int i = 0; i < 5; ++i) {
    const auto [ok, ms] = timed_ls(sb);
    CHECK(ok);
    slowest = std::max(slowest, ms);
  }
  CHECK(contains(sb.roam({"ls"}).out, "calm"));
  MESSAGE("roam ls with 54 abusive connections open: slowest of 5 took ", slowest, " ms");
  CHECK(slowest < 2000);
  CHECK(closed_within(huge, 2s));
  CHECK(closed_within(garbage, 2s));
  CHECK(closed_within(malformed, 2s));
  // The silent ones are given up on after the request timeout (10 s).
  const auto t0 = Clock::now();
  CHECK(closed_within(half, 20s));
  CHECK(closed_within(silent.front(), 5s));
  MESSAGE("silent connections closed by the daemon after about ", ms_since(t0) / 1000 + 0, " s more");
  for (int fd : silent) close(fd);
  for (int fd : {huge, garbage, malformed, half}) close(fd);
  const auto [ok, ms] = timed_ls(sb);
  CHECK(ok);
  CHECK(ms < 2000);
}

TEST_CASE("escape sequences with absurd parameters cost bounded CPU and memory") {
  Sandbox sb;
  // Each piece is written with coreutils, as a terminal program would.
  const std::string script = sb.dir() + "/abuse.sh";
  {
    std::ofstream s(script);
    s << "e=$(printf '\\033')\n"
         "printf 'x%s[999999999b' \"$e\"\n"                            // repeat the last character 10^9 times
         "printf '%s[999999999@%s[999999999L%s[999999999M' \"$e\" \"$e\" \"$e\"\n"
         "printf '%s[999999999P%s[999999999X%s[999999999S%s[999999999T' \"$e\" \"$e\" \"$e\" \"$e\"\n"
         "printf '%s[999999999;999999999H%s[999999999;999999999r' \"$e\" \"$e\"\n"
         "printf '%s[8;99999;99999t%s[?999999999h%s[999999999I' \"$e\" \"$e\" \"$e\"\n"
         "printf '%s[' \"$e\"; yes '1;' | head -n 10000 | tr -d '\\n'; printf 'm'\n"  // 10,000 parameters
         "printf '%s[' \"$e\"; yes '38;5;1;' | head -n 10000 | tr -d '\\n'; printf 'm'\n"
         "yes \"${e}]2;\" | head -n 10000 | tr -d '\\n'; printf '\\007'\n"     // 10,000 nested-looking OSCs
         "yes \"${e}P\" | head -n 10000 | tr -d '\\n'; printf '%s\\\\' \"$e\"\n"  // and DCSs
         "yes \"${e}[\" | head -n 10000 | tr -d '\\n'; printf 'm'\n"
         "printf '%s]52;c;' \"$e\"; head -c 786432 /dev/zero | base64 -w0; printf '\\007'\n"  // 1 MB OSC 52
         "printf '%s]2;' \"$e\"; head -c 1048576 /dev/zero | tr '\\0' T; printf '\\007'\n"  // a 1 MB title
         "printf '%s]0;' \"$e\"; head -c 1048576 /dev/zero | tr '\\0' U; printf '%s\\\\' \"$e\"\n"
         "printf '%sP' \"$e\"; head -c 1048576 /dev/zero | tr '\\0' D; printf '%s\\\\' \"$e\"\n"  // a 1 MB DCS
         "printf '%s[0m%s[r%s[H%s[2J' \"$e\" \"$e\" \"$e\" \"$e\"\n";
  }
  auto client = std::make_unique<TerminalDriver>(
      std::vector<std::string>{roam_bin(), "attach", "absurd", "--", "/bin/sh"}, 80, 24,
      std::vector<std::pair<std::string, std::string>>{
          {"ROAM_RUNTIME_DIR", sb.runtime()}, {"PS1", "rdy>"}, {"ENV", ""}});
  REQUIRE(client->wait_for_text("rdy>"));
  const auto pid = sb.daemon_pid();
  REQUIRE(pid);
  const long long rss_before = proc_status_kb(*pid, "VmRSS");
  const long long client_rss_before = proc_status_kb(client->pid(), "VmRSS");
  const auto t0 = Clock::now();
  client->type("sh " + script + "; echo done-abuse\r");
  REQUIRE(client->wait_for([](const TerminalDriver& t) {
    for (int y = 0; y < t.rows(); ++y)
      if (t.row(y) == "done-abuse") return true;
    return false;
  }, 90s));
  const long long took = ms_since(t0);
  const long long rss_peak = proc_status_kb(*pid, "VmHWM");
  const long long rss_after = proc_status_kb(*pid, "VmRSS");
  const long long client_rss = proc_status_kb(client->pid(), "VmHWM");
  MESSAGE("the abuse took ", took, " ms to run and show; daemon VmRSS ", rss_before, " kB before, ", rss_after,
          " kB after, peak ", rss_peak, " kB; client VmRSS ", client_rss_before, " kB before, peak ", client_rss,
          " kB");

  // Both are idle afterwards: no runaway loop.
  const long long d0 = cpu_ms(*pid), c0 = cpu_ms(client->pid());
  client->pump(2s);
  const long long d1 = cpu_ms(*pid), c1 = cpu_ms(client->pid());
  MESSAGE("CPU over the next 2 s: daemon ", d1 - d0, " ms, client ", c1 - c0, " ms");
  CHECK(d1 - d0 < 500);
  CHECK(c1 - c0 < 500);
  CHECK(rss_peak < 200 * 1024);
  CHECK(client_rss < 200 * 1024);
  const auto [ok, ms] = timed_ls(sb);
  CHECK(ok);
  CHECK(ms < 2000);
  client->type("echo after-abuse\r");
  CHECK(client->wait_for_text("\nafter-abuse\n", 15s));
}
