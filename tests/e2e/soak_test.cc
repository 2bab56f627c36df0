// Long-running use of one daemon: many attach/detach and create/kill cycles
// leave no file descriptors, memory or processes behind, and a session with
// 20 clients at once shows all of them the same screen.
//
// The bulk of the attach/detach cycles use the real `roam-server attach` (the
// bootstrap every client goes through) and a minimal client built in this
// process from the protocol library: it makes contact, sends a detach event
// and waits for the server to acknowledge it. A smaller number of cycles use
// the real `roam attach` in a pseudo-terminal, detaching with Ctrl-^ d.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "protocol/host_state.h"
#include "protocol/transport.h"
#include "protocol/user_state.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count());
}

int fd_count(pid_t pid) {
  int n = 0;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}


struct Counts {
  int fds = 0;
  long long rss_kb = 0;
  size_t children = 0;
};

Counts counts(pid_t pid) { return {fd_count(pid), proc_status_kb(pid, "VmRSS"), child_pids(pid).size()}; }

// One attachment's client, in-process: make contact, detach, wait for the
// server to acknowledge the detach. True if it did within `timeout`.
bool attach_and_detach(const ConnectLine& c, std::chrono::milliseconds timeout) {
  const auto id = roam::parse_conn_id(c.id);
  const auto key = roam::crypto::Key::from_base64(c.key);
  if (!id || !key) return false;
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(c.port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(fd);
    return false;
  }
  roam::Transport<roam::UserState, roam::HostState> t(*key, *id, roam::crypto::Direction::to_server);
  t.local().push_resize(80, 24);
  t.local().push_detach();
  const auto emit = [&](std::span<const uint8_t> d) { (void)send(fd, d.data(), d.size(), 0); };
  const auto start = Clock::now();
  bool acked = false;
  uint8_t buf[2048];
  while (ms_since(start) < timeout.count()) {
    const uint64_t now = now_ms();
    const uint64_t wake = t.tick(now, emit);
    if (t.idle()) {
      acked = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    const int wait = static_cast<int>(std::clamp<int64_t>(static_cast<int64_t>(wake - now), 1, 50));
    if (poll(&p, 1, wait) > 0) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) t.receive({buf, static_cast<size_t>(n)}, now_ms());
    }
  }
  close(fd);
  return acked;
}

}  // namespace

TEST_CASE("1,000 attach/detach cycles and 200 create/kill cycles leak no fds, memory or processes") {
  Sandbox sb;
  RunOptions prompt;
  prompt.env = {{"PS1", "rdy>"}, {"ENV", ""}};
  const Run made = sb.server({"new", "soak", "--", "/bin/sh"}, prompt);
  REQUIRE_MESSAGE(made.status == 0, made.err);
  const auto pid = sb.daemon_pid();
  REQUIRE(pid);

  // Warm up (the UDP port, first allocations), then take the baseline.
  for (int i = 0; i < 20; ++i) {
    auto c = sb.attach_line("soak", {"/bin/sh"});
    REQUIRE(c);
    REQUIRE(attach_and_detach(*c, 5s));
  }
  REQUIRE(wait_until([&] { return sb.info_numbers()["attachments"] == 0; }, 20s));
  const Counts before = counts(*pid);

  // The bulk: the real bootstrap, an in-process client.
  constexpr int cycles = 1000;
  int ok = 0, failed_bootstrap = 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < cycles && ms_since(t0) < 150'000; ++i) {
    auto c = sb.attach_line("soak", {"/bin/sh"});
    if (!c) {
      ++failed_bootstrap;
      continue;
    }
    ok += attach_and_detach(*c, 5s);
  }
  const long long attach_ms = ms_since(t0);
  MESSAGE(ok, " of ", cycles, " attach/detach cycles acknowledged in ", attach_ms, " ms (", failed_bootstrap,
          " bootstraps failed)");
  CHECK(ok == cycles);
  wait_until([&] { return sb.info_numbers()["attachments"] == 0; }, 20s);
  MESSAGE("after the in-process cycles: daemon VmRSS ", proc_status_kb(*pid, "VmRSS"), " kB, fds ", fd_count(*pid));

  // A few with the real client.
  constexpr int real_cycles = 10;
  int real_ok = 0;
  const auto t1 = Clock::now();
  for (int i = 0; i < real_cycles; ++i) {
    TerminalDriver client({roam_bin(), "attach", "soak"}, 80, 24,
                          {{"ROAM_RUNTIME_DIR", sb.runtime()}, {"PS1", "rdy>"}, {"ENV", ""}});
    if (!client.wait_for_text("rdy>", 20s)) continue;
    client.type("\x1e" "d");
    real_ok += client.wait_for_text("[detached from soak]", 20s) && client.wait_exit(10s) == 0;
  }
  MESSAGE(real_ok, " of ", real_cycles, " real roam attach/detach cycles in ", ms_since(t1), " ms");
  CHECK(real_ok == real_cycles);
  wait_until([&] { return sb.info_numbers()["attachments"] == 0; }, 20s);
  MESSAGE("after the real cycles: daemon VmRSS ", proc_status_kb(*pid, "VmRSS"), " kB, fds ", fd_count(*pid));

  // Sessions created and killed.
  constexpr int sessions = 200;
  int created = 0, killed = 0;
  const auto t2 = Clock::now();
  for (int i = 0; i < sessions; ++i) {
    const std::string name = "tmp" + std::to_string(i);
    created += sb.server({"new", name, "--", "/bin/sh"}).status == 0;
    killed += sb.server({"kill", name}).status == 0;
  }
  MESSAGE(created, " sessions created and ", killed, " killed in ", ms_since(t2), " ms");
  CHECK(created == sessions);
  CHECK(killed == sessions);

  // Detached attachments linger a few seconds; killed sessions' programs are reaped.
  const bool settled = wait_until([&] {
    const Counts now = counts(*pid);
    return sb.info_numbers()["attachments"] == 0 && now.children == before.children && now.fds <= before.fds;
  }, 30s);
  const Counts after = counts(*pid);
  const auto i = sb.info_numbers();
  MESSAGE("daemon fds ", before.fds, " -> ", after.fds, ", VmRSS ", before.rss_kb, " kB -> ", after.rss_kb,
          " kB, children ", before.children, " -> ", after.children, ", attachments now ",
          i.count("attachments") ? i.at("attachments") : -1, ", sessions now ", i.count("sessions") ? i.at("sessions") : -1);
  CHECK(settled);
  CHECK(after.fds == before.fds);
  CHECK(after.children == before.children);
  CHECK(i.at("sessions") == 1);
  // Allocator slack, not growth per cycle: 1,200 cycles leaking even 8 kB each would exceed it.
  CHECK(after.rss_kb - before.rss_kb < 8 * 1024);
  const Run ls = sb.roam({"ls"});
  CHECK(ls.status == 0);
}

TEST_CASE("a session attached by 20 clients at once shows all of them the same screen") {
  Sandbox sb;
  RunOptions prompt;
  prompt.env = {{"PS1", "rdy>"}, {"ENV", ""}};
  const Run made = sb.server({"new", "crowd", "--", "/bin/sh"}, prompt);
  REQUIRE_MESSAGE(made.status == 0, made.err);
  std::vector<std::unique_ptr<TerminalDriver>> clients;
  constexpr int n = 20;
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<TerminalDriver>(
        std::vector<std::string>{roam_bin(), "attach", "crowd"}, 80, 24,
        std::vector<std::pair<std::string, std::string>>{
            {"ROAM_RUNTIME_DIR", sb.runtime()}, {"PS1", "rdy>"}, {"ENV", ""}}));
  }
  for (auto& c : clients) REQUIRE(c->wait_for_text("rdy>", 60s));
  MESSAGE(n, " clients attached in ", ms_since(t0), " ms");
  CHECK(sb.roam({"ls"}).out.find(" 20 ") != std::string::npos);
  const Run ls = sb.roam({"ls"});
  MESSAGE("roam ls: ", ls.out);

  // Each client types in turn; every client sees every line.
  const auto t1 = Clock::now();
  for (int i = 0; i < n; i += 4) {
    clients[i]->type("echo from-client-" + std::to_string(i) + "\r");
    REQUIRE(clients[i]->wait_for_text("\nfrom-client-" + std::to_string(i) + "\n", 30s));
  }
  clients[0]->type("seq 1 15 | sed s/^/crowd-line-/\r");
  for (auto& c : clients) CHECK(c->wait_for_text("crowd-line-15\nrdy>", 60s));
  // Settled: the same screen everywhere.
  clients[0]->pump(1s);
  const std::string reference = clients[0]->screen_text();
  int same = 0;
  for (auto& c : clients) same += c->wait_for([&](const TerminalDriver& t) { return t.screen_text() == reference; }, 20s);
  MESSAGE(same, " of ", n, " screens identical after ", ms_since(t1), " ms");
  CHECK(same == n);

  for (auto& c : clients) c->type("\x1e" "d");
  int detached = 0;
  for (auto& c : clients) detached += c->wait_exit(30s) == 0;
  CHECK(detached == n);
  CHECK(wait_until([&] { return sb.info_numbers()["attachments"] == 0; }, 20s));
}
