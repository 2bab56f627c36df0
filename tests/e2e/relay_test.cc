// The impairment relay itself (tests/tools/relay), between two plain UDP
// sockets on loopback: forwarding, delay, seeded loss, rebind, replay,
// garbage, the control socket and the stats file.
#include "tests/e2e/harness.h"
#include "tests/e2e/relay_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

// A scratch directory, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "relay-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};


class Udp {
 public:
  Udp() : fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Udp() { close(fd_); }
  Udp(const Udp&) = delete;
  Udp& operator=(const Udp&) = delete;
  int port() const { return port_; }

  void send(int port, const std::string& data) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
            static_cast<ssize_t>(data.size()));
  }
  struct Datagram {
    std::string data;
    int from_port;
  };
  std::optional<Datagram> recv(std::chrono::milliseconds timeout = 2000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buf[65536];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    return Datagram{std::string(buf, static_cast<std::size_t>(n)), ntohs(from.sin_port)};
  }

 private:
  int fd_;
  int port_ = 0;
};

// The number after "key": in the object after "section": (or at the top).

}  // namespace

TEST_CASE("the relay forwards both ways with delay, rebinds, replays and sends garbage") {
  TempDir sandbox;
  Udp server, client;
  RelayProcess relay(sandbox.dir(), server.port(), {"--delay", "40"});

  const auto t0 = std::chrono::steady_clock::now();
  client.send(relay.port(), "hello");
  const auto up = server.recv();
  REQUIRE(up);
  CHECK(up->data == "hello");
  CHECK(std::chrono::steady_clock::now() - t0 >= 40ms);
  const int first_source = up->from_port;
  CHECK(first_source != client.port());

  server.send(first_source, "welcome");
  const auto down = client.recv();
  REQUIRE(down);
  CHECK(down->data == "welcome");
  CHECK(down->from_port == relay.port());
  CHECK(std::chrono::steady_clock::now() - t0 >= 80ms);

  // Rebind: the server sees the same client from a new port; replies to it still arrive.
  CHECK(relay.ctl("rebind").rfind("ok", 0) == 0);
  client.send(relay.port(), "moved");
  const auto moved = server.recv();
  REQUIRE(moved);
  CHECK(moved->data == "moved");
  CHECK(moved->from_port != first_source);
  server.send(moved->from_port, "still here");
  const auto down2 = client.recv();
  REQUIRE(down2);
  CHECK(down2->data == "still here");

  // Replay: the oldest recorded datagram, again, from the current upstream port.
  CHECK(relay.ctl("replay").rfind("ok", 0) == 0);
  const auto replayed = server.recv();
  REQUIRE(replayed);
  CHECK(replayed->data == "hello");
  CHECK(replayed->from_port == moved->from_port);

  // replay-new: from a fresh address; what the server sends there is counted, not forwarded.
  CHECK(relay.ctl("replay-new 1").rfind("ok", 0) == 0);
  const auto replayed_new = server.recv();
  REQUIRE(replayed_new);
  CHECK(replayed_new->data == "moved");
  CHECK(replayed_new->from_port != moved->from_port);
  server.send(replayed_new->from_port, "to the replayer");
  CHECK(wait_until([&] { return json_number(relay.ctl("stats"), "", "replay_source_received") == 1; }, 5s));
  CHECK_FALSE(client.recv(200ms));

  CHECK(relay.ctl("garbage 3 50").rfind("ok", 0) == 0);
  for (int i = 0; i < 3; ++i) {
    const auto g = server.recv();
    REQUIRE(g);
    CHECK(g->data.size() == 50);
  }

  CHECK(relay.ctl("set loss 2").rfind("error", 0) == 0);
  CHECK(relay.ctl("frobnicate").rfind("error", 0) == 0);

  // An outage drops both ways until it ends: "back" is sent until a copy
  // gets through; "lost" and at least the copies sent before the end of the
  // outage were dropped.
  CHECK(relay.ctl("outage 0.5").rfind("ok", 0) == 0);
  client.send(relay.port(), "lost");
  CHECK_FALSE(server.recv(300ms));
  int tries = 0;
  std::optional<Udp::Datagram> back;
  REQUIRE(wait_until([&] {
    client.send(relay.port(), "back");
    ++tries;
    back = server.recv(20ms);
    return back.has_value();
  }, 10s));
  CHECK(back->data == "back");

  const std::string stats = relay.ctl("stats");
  CHECK(json_number(stats, "up", "packets") == 3 + tries);
  CHECK(json_number(stats, "up", "dropped_outage") >= 1);
  CHECK(json_number(stats, "up", "dropped_outage") <= tries);
  CHECK(json_number(stats, "down", "packets") == 2);
  CHECK(json_number(stats, "", "rebinds") == 1);
  CHECK(json_number(stats, "", "replays") == 2);
  CHECK(json_number(stats, "", "garbage") == 3);
  CHECK(stats.find("\"client\":\"127.0.0.1:" + std::to_string(client.port()) + "\"") != std::string::npos);

  CHECK(relay.stop() == 0);
  const std::string final_stats = relay.stats();
  CHECK(json_number(final_stats, "up", "packets") == 3 + tries);
  CHECK(final_stats.front() == '{');
  CHECK_FALSE(std::filesystem::exists(sandbox.dir() + "/ctl"));
}

TEST_CASE("seeded loss drops about the given share, the same way each run") {
  TempDir sandbox;
  std::vector<long long> dropped;
  for (int round = 0; round < 2; ++round) {
    Udp server, client;
    const std::string dir = sandbox.dir() + "/r" + std::to_string(round);
    std::filesystem::create_directories(dir);
    RelayProcess relay(dir, server.port(), {"--up-loss", "0.3", "--seed", "9"});
    int received = 0;
    for (int i = 0; i < 500; ++i) {
      client.send(relay.port(), "x" + std::to_string(i));
      if (i % 20 == 19) std::this_thread::sleep_for(2ms);  // stay below the socket buffers
      while (server.recv(0ms)) ++received;
    }
    while (server.recv(300ms)) ++received;
    CHECK(received > 500 * 0.6);
    CHECK(received < 500 * 0.8);
    const std::string stats = relay.ctl("stats");
    REQUIRE(json_number(stats, "up", "packets") == 500);
    CHECK(json_number(stats, "up", "dropped_loss") == 500 - received);
    dropped.push_back(500 - received);
    CHECK(relay.stop() == 0);
  }
  CHECK(dropped[0] == dropped[1]);
}

TEST_CASE("a schedule runs actions at their time; SIGUSR2 rebinds") {
  TempDir sandbox;
  Udp server, client;
  RelayProcess relay(sandbox.dir(), server.port(), {"--schedule", "0.3:rebind;0.4:set up-delay=30"});
  client.send(relay.port(), "a");
  const auto a = server.recv();
  REQUIRE(a);
  REQUIRE(wait_until([&] { return json_number(relay.stats(), "", "rebinds") == 1; }, 5s));
  REQUIRE(wait_until([&] { return json_number(relay.stats(), "up", "delay") == 30; }, 5s));
  const auto t0 = std::chrono::steady_clock::now();
  client.send(relay.port(), "b");
  const auto b = server.recv();
  REQUIRE(b);
  CHECK(b->from_port != a->from_port);
  CHECK(std::chrono::steady_clock::now() - t0 >= 30ms);
  CHECK(json_number(relay.stats(), "up", "delay") == 30);

  kill(relay.pid(), SIGUSR2);
  REQUIRE(wait_until([&] { return json_number(relay.stats(), "", "rebinds") == 2; }, 5s));
  client.send(relay.port(), "c");
  const auto c = server.recv();
  REQUIRE(c);
  CHECK(c->from_port != b->from_port);
  CHECK(relay.stop() == 0);
}
