// SSP over a simulated network: a fake clock and a channel that delays,
// drops, reorders and duplicates datagrams.
#include "protocol/transport.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>

#include "protocol/host_state.h"
#include "protocol/limits.h"
#include "protocol/loss_meter.h"
#include "protocol/redundancy.h"
#include "protocol/user_state.h"

using namespace roam;
using crypto::Direction;

namespace {

using Side = Transport<UserState, UserState>;

struct Channel {
  std::mt19937_64 rng{1};
  double loss = 0, duplicate = 0;
  uint64_t delay = 20, jitter = 0;
  // Delivery time -> (to client?, bytes); a multimap keeps same-time order.
  std::multimap<uint64_t, std::pair<bool, std::vector<uint8_t>>> in_flight;
  uint64_t sent = 0;
  struct Record {
    uint64_t at;
    bool to_client;
    size_t bytes;
  };
  std::vector<Record> log;  // every datagram put in, lost ones too

  void send(bool to_client, std::span<const uint8_t> d, uint64_t now) {
    ++sent;
    log.push_back({now, to_client, d.size()});
    std::uniform_real_distribution<double> u(0, 1);
    if (u(rng) < loss) return;
    const int copies = u(rng) < duplicate ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      const uint64_t extra = jitter ? rng() % jitter : 0;  // jitter reorders
      in_flight.emplace(now + delay + extra, std::make_pair(to_client, std::vector<uint8_t>(d.begin(), d.end())));
    }
  }
};

struct Pair {
  crypto::Key key = crypto::Key::random();
  Side client{key, 7, Direction::to_server};
  Side server{key, 7, Direction::to_client};
  Channel net;
  uint64_t now = 100000;
  std::vector<uint64_t> server_state_sends;

  Emit to_server() {
    return [this](std::span<const uint8_t> d) { net.send(false, d, now); };
  }
  Emit to_client() {
    return [this](std::span<const uint8_t> d) { net.send(true, d, now); };
  }

  // Runs the simulation until `until`. Both sides tick every millisecond,
  // as their event loops do after any input: tick() sends only what is due.
  void run(uint64_t until, const std::function<void()>& each_ms = {}) {
    for (; now < until; ++now) {
      if (each_ms) each_ms();
      while (!net.in_flight.empty() && net.in_flight.begin()->first <= now) {
        auto node = net.in_flight.extract(net.in_flight.begin());
        auto& [to_client, bytes] = node.mapped();
        (to_client ? client : server).receive(bytes, now);
      }
      client.tick(now, to_server());
      const auto before = server.last_state_send();
      server.tick(now, to_client());
      if (server.last_state_send() != before) server_state_sends.push_back(now);
    }
  }
};

std::string events_text(const UserState& s) {
  std::string out;
  for (uint64_t i = s.begin(); i < s.end(); ++i) out += s.at(i).keys + "|";
  return out;
}

}  // namespace

TEST_CASE("keystrokes reach the other side on a clean link") {
  Pair p;
  p.client.local().push_keys("l");
  p.client.local().push_keys("s");
  p.run(p.now + 500);
  CHECK(p.server.remote().end() == 2);
  CHECK(p.server.remote().at(0).keys == "l");
  CHECK(p.server.remote().at(1).keys == "s");
  CHECK(p.client.idle());
}

TEST_CASE("both sides converge through loss, reordering and duplication") {
  for (double loss : {0.1, 0.3, 0.5}) {
    CAPTURE(loss);
    Pair p;
    p.net.loss = loss;
    p.net.duplicate = 0.2;
    p.net.delay = 40;
    p.net.jitter = 60;
    int typed = 0;
    std::string client_sent, server_sent;
    std::mt19937 rng(5);
    p.run(p.now + 20000, [&] {
      if (rng() % 50 == 0 && typed < 300) {
        const std::string c = std::to_string(typed++), s = "echo" + std::to_string(typed);
        p.client.local().push_keys(c);
        p.server.local().push_keys(s);
        client_sent += c + "|";
        server_sent += s + "|";
      }
    });
    // Quiet period: everything must arrive and be acknowledged.
    p.run(p.now + 20000);
    CHECK(typed == 300);
    CHECK(events_text(p.server.remote()) == client_sent);
    CHECK(events_text(p.client.remote()) == server_sent);
    // Once acknowledged, the senders no longer keep what they sent.
    CHECK(p.client.local().begin() == p.client.local().end());
    CHECK(p.client.idle());
    CHECK(p.server.idle());
  }
}

TEST_CASE("the round-trip estimate converges to the path's delay") {
  Pair p;
  p.net.delay = 50;  // one way
  int n = 0;
  p.run(p.now + 10000, [&] {
    if (p.now % 100 == 0) p.client.local().push_keys(std::to_string(n++));
  });
  CHECK(p.client.connection().rtt().has_sample());
  CHECK(p.client.connection().rtt().srtt() == doctest::Approx(100).epsilon(0.15));
  CHECK(p.client.connection().rtt().send_interval() == 50);
  CHECK(p.client.connection().rtt().rto() >= 100);
}

TEST_CASE("paced sends respect the frame interval") {
  Pair p;
  p.net.delay = 100;  // SRTT 200 ms: interval 100 ms
  int n = 0;
  // Warm up the estimate, then change the state every millisecond.
  p.run(p.now + 3000, [&] {
    if (p.now % 200 == 0) p.server.local().push_keys("w");
  });
  p.server_state_sends.clear();
  p.run(p.now + 5000, [&] { p.server.local().push_keys(std::to_string(n++)); });
  REQUIRE(p.server_state_sends.size() > 10);
  const uint64_t interval = p.server.connection().rtt().send_interval();
  CHECK(interval >= 90);
  for (size_t i = 1; i < p.server_state_sends.size(); ++i)
    CHECK(p.server_state_sends[i] - p.server_state_sends[i - 1] >= interval);
  // And the frames carry everything: nothing is lost by pacing.
  p.run(p.now + 3000);
  CHECK(p.client.remote().end() == p.server.local().end());
}

TEST_CASE("forged, reflected and replayed datagrams are counted and ignored") {
  Pair p;
  std::vector<std::vector<uint8_t>> to_server;
  p.client.local().push_keys("real");
  p.client.tick(p.now, [&](std::span<const uint8_t> d) { to_server.emplace_back(d.begin(), d.end()); });
  REQUIRE(to_server.size() == 1);

  // Reflected back at the client: authentic, but in its own direction.
  auto r = p.client.receive(to_server[0], p.now);
  CHECK_FALSE(r.accepted);
  CHECK(p.client.connection().drops().wrong_direction == 1);

  // Forged: a flipped bit anywhere after the connection id.
  for (size_t i = 8; i < to_server[0].size(); i += 7) {
    auto bad = to_server[0];
    bad[i] ^= 0x40;
    CHECK_FALSE(p.server.receive(bad, p.now).accepted);
  }
  CHECK(p.server.connection().drops().auth_failed > 0);
  CHECK(p.server.remote().end() == 0);

  // The real one, then a replay of it: applied once.
  r = p.server.receive(to_server[0], p.now);
  CHECK(r.accepted);
  CHECK(r.new_state);
  CHECK(p.server.remote().end() == 1);
  r = p.server.receive(to_server[0], p.now + 1);
  CHECK(r.accepted);
  CHECK_FALSE(r.new_state);
  CHECK(p.server.remote().end() == 1);

  // Garbage of every length never counts as authentic.
  std::mt19937 rng(9);
  for (size_t n = 0; n < 1400; n += 13) {
    std::vector<uint8_t> junk(n);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    CHECK_FALSE(p.server.receive(junk, p.now).accepted);
  }
}

TEST_CASE("after a quiet spell new states diff from the acknowledged one: a lost state costs nothing") {
  Pair p;
  std::vector<std::vector<uint8_t>> out;
  const Emit keep = [&](std::span<const uint8_t> d) { out.emplace_back(d.begin(), d.end()); };
  p.client.local().push_keys("a");
  p.client.tick(p.now, keep);  // state 1, lost
  p.now += 300;
  p.client.local().push_keys("b");
  p.client.tick(p.now, keep);  // state 2, built on state 0, which the server holds
  REQUIRE(out.size() == 2);
  CHECK(p.server.receive(out[1], p.now).new_state);
  CHECK(p.server.remote().end() == 2);
  CHECK(p.server.connection().drops().unknown_state == 0);
}

TEST_CASE("within a fresh chain a diff from a lost state is dropped, counted, then repaired") {
  Pair p;
  p.net.delay = 5;
  // A live exchange: the client's acknowledged state was sent moments ago
  // (its ack comes after the server's 100 ms ack delay and 10 ms of path).
  p.run(p.now + 1000);
  p.client.local().push_keys("warm");
  const uint64_t sent = p.now;
  p.run(p.now + 1);
  while (!p.client.idle() && p.now < sent + 1000) p.run(p.now + 1);
  REQUIRE(p.server.remote().end() == 1);
  REQUIRE(p.now - sent < p.client.connection().rtt().rto() + 100);
  std::vector<std::vector<uint8_t>> out;
  const Emit keep = [&](std::span<const uint8_t> d) { out.emplace_back(d.begin(), d.end()); };
  p.client.local().push_keys("a");
  p.client.tick(p.now, keep);  // state 2, lost
  p.now += 25;
  p.client.local().push_keys("b");
  p.client.tick(p.now, keep);  // state 3, built on state 2, still in flight
  REQUIRE(out.size() == 2);
  p.server.receive(out[1], p.now);
  CHECK(p.server.connection().drops().unknown_state == 1);
  CHECK(p.server.remote().end() == 1);
  // Once state 2 is overdue the client resends from the acknowledged state.
  p.run(p.now + 3000);
  CHECK(p.server.remote().end() == 3);
}

TEST_CASE("an acknowledgement just sent does not hold back the next frame") {
  Pair p;
  p.net.delay = 1;
  // Settle: a fast link, so the frame interval is the 20 ms minimum.
  int n = 0;
  p.run(p.now + 3000, [&] {
    if (p.now % 150 == 0) p.client.local().push_keys(std::to_string(n++));
  });
  // The server echoes; the client acknowledges that echo about 100 ms later
  // with a pure ack.
  p.server.local().push_keys("echo");
  const uint64_t echoed = p.now;
  while (!(p.client.last_send() > echoed + 50 && p.client.last_send() != p.client.last_state_send()) &&
         p.now < echoed + 1000)
    p.run(p.now + 1);
  REQUIRE(p.client.last_send() == p.now - 1);
  // A keystroke right after the ack goes out at once.
  p.client.local().push_keys("k");
  const auto before = p.client.last_state_send();
  p.client.tick(p.now, p.to_server());
  CHECK(p.client.last_state_send() == p.now);
  CHECK(p.client.last_state_send() != before);
}

TEST_CASE("last words: resend delivers the newest state even when its first sending was lost") {
  Pair p;
  p.client.local().push_keys("warm");
  p.run(p.now + 1000);
  REQUIRE(p.client.idle());
  p.client.local().push_keys("bye");
  p.net.loss = 1;
  p.client.tick(p.now, p.to_server());  // lost
  p.net.loss = 0;
  // No time for the usual retransmission: two copies at once, as a leaving client sends them.
  p.client.resend(p.now, p.to_server());
  p.client.resend(p.now, p.to_server());
  p.run(p.now + 100);
  CHECK(events_text(p.server.remote()).find("bye|") != std::string::npos);
  CHECK(p.client.connection().unsendable() == 0);
}

// A hostile server makes the client keep every state it sends (each a full
// screen of its own, none thrown away): the received states are let go,
// oldest first, to stay within limits::max_received_bytes, and the newest
// is always kept.
TEST_CASE("received states past the byte budget are let go, oldest first, the newest kept") {
  const crypto::Key key = crypto::Key::random();
  Transport<UserState, HostState> client(key, 9, Direction::to_server);
  Connection server(key, 9, Direction::to_client);
  const uint64_t now = 1000;
  const HostState none;
  HostState prev;
  for (uint64_t num = 1; num <= 16; ++num) {
    HostState s = prev;
    // A width change re-wraps: every row new.
    s.screen.resize(limits::max_cols - static_cast<int>(num % 2), limits::max_rows);
    Instruction in;
    in.old_num = num - 1;
    in.new_num = num;
    s.diff_from(prev, in.diff);
    prev = std::move(s);
    bool over = false;
    REQUIRE(server.send(in, now, [&](std::span<const uint8_t> d) { over |= client.receive(d, now).over_limit; }));
    CHECK_FALSE(over);
  }
  CHECK(client.remote_num() == 16);
  CHECK(client.remote().screen.cols() == limits::max_cols);
  CHECK(client.remote() == prev);
  CHECK(client.connection().drops().evicted_states > 0);
  // The oldest went: a diff from one of them is unknown, dropped and
  // counted, never held.
  const uint64_t unknown = client.connection().drops().unknown_state;
  Instruction in;
  in.old_num = 0;
  in.new_num = 17;
  HostState{}.diff_from(none, in.diff);
  REQUIRE(server.send(in, now, [&](std::span<const uint8_t> d) { client.receive(d, now); }));
  CHECK(client.connection().drops().unknown_state == unknown + 1);
  CHECK(client.remote_num() == 16);
}

namespace {

// Types a key every `gap` ms for `ms` ms; the server echoes each key it
// gets, as a shell does (its echo frame is small and urgent), optionally
// with `extra` after the echo of key number `extra_after`. Returns each
// echoed key's time from typing to its echo reaching the client.
std::vector<uint64_t> type_with_echo(Pair& p, uint64_t ms, uint64_t gap, const std::string& extra = {},
                                     uint64_t extra_after = 0) {
  std::vector<uint64_t> typed_at, latency;
  uint64_t echoed = p.server.remote().end();
  const uint64_t first = p.client.local().end();
  const uint64_t echo_base = p.client.remote().end() - echoed;
  const uint64_t until = p.now + ms;
  p.run(until + 2000, [&] {
    if (p.now < until && p.now % gap == 0) {
      p.client.local().push_keys("k");
      p.client.urgent();
      typed_at.push_back(p.now);
    }
    for (; echoed < p.server.remote().end(); ++echoed) {
      p.server.local().push_keys("e");
      if (!extra.empty() && echoed - first == extra_after) p.server.local().push_keys(extra);
    }
    while (latency.size() < typed_at.size() && p.client.remote().end() - echo_base > first + latency.size())
      latency.push_back(p.now - typed_at[latency.size()]);
  });
  return latency;
}

double share_within(const std::vector<uint64_t>& latency, uint64_t ms) {
  const auto n = std::count_if(latency.begin(), latency.end(), [&](uint64_t l) { return l <= ms; });
  return static_cast<double>(n) / static_cast<double>(latency.size());
}

void check_nothing_wrong(const Side& s) {
  const DropCounters& d = s.connection().drops();
  CHECK(d.auth_failed == 0);
  CHECK(d.malformed == 0);
  CHECK(d.stale == 0);
}

}  // namespace

TEST_CASE("redundancy: at no measured loss nothing is sent twice") {
  Pair p;
  p.net.delay = 50;
  const auto latency = type_with_echo(p, 20000, 150);
  REQUIRE(latency.size() >= 130);
  CHECK_FALSE(p.client.redundancy().active());
  CHECK_FALSE(p.server.redundancy().active());
  // Copies share their instruction's id: any that arrived would be counted.
  CHECK(p.client.connection().drops().duplicate == 0);
  CHECK(p.server.connection().drops().duplicate == 0);
  CHECK(share_within(latency, 105) == 1.0);
}

TEST_CASE("redundancy: under 29% loss each way the echo beats the loss, and the link's measures stay true") {
  Pair p;
  p.net.delay = 50;
  p.net.loss = 0.29;
  type_with_echo(p, 10000, 150);  // the loss meters warm up
  CHECK(p.client.redundancy().active());
  CHECK(p.server.redundancy().active());
  const auto latency = type_with_echo(p, 30000, 150);
  REQUIRE(latency.size() == 200);
  // Without copies only (1 - 0.29)^2 = 50% of the keys and their echoes
  // would both get through at the first try.
  CHECK(share_within(latency, 100 + 40) > 0.85);
  CHECK(share_within(latency, 300) > 0.98);
  // Copies arrived and were told apart from faults.
  CHECK(p.client.connection().drops().duplicate > 0);
  CHECK(p.server.connection().drops().duplicate > 0);
  check_nothing_wrong(p.client);
  check_nothing_wrong(p.server);
  // Every RTT sample is from a datagram whose send time is known: the
  // copies' spacing does not stretch the estimate.
  CHECK(p.client.connection().rtt().srtt() == doctest::Approx(100).epsilon(0.08));
  CHECK(p.server.connection().rtt().srtt() == doctest::Approx(100).epsilon(0.08));
  CHECK(p.client.connection().loss() == doctest::Approx(0.29).epsilon(0.5));

  SUBCASE("and once the link is clean again, it stops") {
    p.net.loss = 0;
    type_with_echo(p, 10000, 150);
    CHECK_FALSE(p.client.redundancy().active());
    CHECK_FALSE(p.server.redundancy().active());
    const uint64_t up = p.server.connection().drops().duplicate, down = p.client.connection().drops().duplicate;
    const auto clean = type_with_echo(p, 10000, 150);
    CHECK(share_within(clean, 105) == 1.0);
    CHECK(p.server.connection().drops().duplicate == up);
    CHECK(p.client.connection().drops().duplicate == down);
  }
}

TEST_CASE("redundancy: a bulk frame is never sent twice, even right after a keystroke on a lossy link") {
  Pair p;
  p.net.delay = 50;
  p.net.loss = 0.29;
  type_with_echo(p, 10000, 150);
  REQUIRE(p.server.redundancy().active());
  // Output that does not compress away: two fragments.
  std::mt19937 rng(3);
  std::string bulk(2500, ' ');
  for (char& c : bulk) c = static_cast<char>('a' + rng() % 26);
  const size_t from = p.net.log.size();
  type_with_echo(p, 3000, 150, bulk, 2);
  REQUIRE(events_text(p.client.remote()).find(bulk) != std::string::npos);
  // The times the big datagrams left: each sending at least a timeout apart.
  std::vector<uint64_t> at;
  for (size_t i = from; i < p.net.log.size(); ++i)
    if (p.net.log[i].to_client && p.net.log[i].bytes > 600 && (at.empty() || at.back() != p.net.log[i].at))
      at.push_back(p.net.log[i].at);
  REQUIRE(!at.empty());
  for (size_t i = 1; i < at.size(); ++i) CHECK(at[i] - at[i - 1] >= 50);
}

TEST_CASE("redundancy: one lost datagram does not turn it on, steady loss does, reordering and replays are no loss") {
  LossMeter m;
  Redundancy r;
  uint64_t seq = 0;
  for (; seq < 100; ++seq) m.arrived(seq);
  CHECK(m.loss() == 0);
  m.arrived(++seq);  // one lost
  r.update(m.loss());
  CHECK_FALSE(r.active());
  CHECK(r.copies() == 0);
  // Reordered: the late one takes its loss back; a replay changes nothing.
  m.arrived(seq + 2);
  m.arrived(seq + 1);
  m.arrived(seq + 1);
  m.arrived(seq + 2);
  seq += 2;
  CHECK(m.loss() < 0.04);
  // 10% loss: one copy; 30%: two; a clean link again: none.
  std::mt19937 rng(4);
  auto feed = [&](double loss, int n) {
    for (int i = 0; i < n; ++i) {
      ++seq;
      if (std::uniform_real_distribution<double>(0, 1)(rng) >= loss) m.arrived(seq);
      r.update(m.loss());
    }
  };
  feed(0.10, 400);
  CHECK(r.active());
  CHECK(r.copies() == 1);
  feed(0.30, 400);
  CHECK(r.copies() == 2);
  feed(0, 200);
  CHECK_FALSE(r.active());
  CHECK(r.copies() == 0);
  // An outage is not loss.
  const double before = m.loss();
  m.arrived(seq + 100000);
  CHECK(m.loss() <= before);
}
