// Two StreamSessions joined by the impairment relay's link model
// (tests/tools/impairment.h: delay, rate cap with a queue, loss, reordering,
// duplication, outages), on a fake clock, with applications at both ends
// that stream a known byte pattern and check every byte they read.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include <doctest/doctest.h>

#include "protocol/stream_session.h"
#include "tests/tools/impairment.h"

namespace roam::test {

// Byte `i` of stream `id`'s pattern: a misplaced or corrupted byte shows.
inline uint8_t pattern_byte(uint64_t id, uint64_t i) {
  uint64_t z = (i >> 3) + (id << 48) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<uint8_t>(z >> (8 * (i & 7)));
}

// One end's application: streams it sends (a pattern of `total` bytes, then
// FIN) and streams it receives (checked byte by byte).
struct StreamApp {
  struct Outgoing {
    uint64_t total = 0;
    uint64_t written = 0;
    bool finished = false;
    bool blocked = false;  // a write fell short: wait for the writable event, as a TCP reader would
  };
  struct Incoming {
    uint64_t got = 0;
    bool eof = false;
    bool corrupt = false;
  };

  explicit StreamApp(StreamSession& s) : session(s) {}

  StreamSession& session;
  std::map<uint64_t, Outgoing> out;
  std::map<uint64_t, Incoming> in;
  // Bytes the reader takes per millisecond (0: all there is).
  uint64_t read_per_ms = 0;
  uint64_t read_budget = 0, budget_at = 0;
  // Reads only this often (0: at every step), everything there is then.
  uint64_t read_interval_us = 0, next_read = 0;
  bool finish_after_eof = true;  // answer the peer's FIN with ours
  bool active = true;            // false: the test drives the session itself
  std::array<uint64_t, 6> events{};
  std::vector<uint64_t> resets;

  uint64_t event_count(StreamEvent::Kind k) const { return events[static_cast<size_t>(k)]; }

  uint64_t send(uint64_t total) {
    auto id = session.open();
    REQUIRE(id.has_value());
    out[*id].total = total;
    return *id;
  }

  void pump_writes() {
    std::array<uint8_t, 16384> chunk;
    for (auto& [id, o] : out) {
      while (o.written < o.total && !o.blocked) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), o.total - o.written));
        for (size_t i = 0; i < n; ++i) chunk[i] = pattern_byte(id, o.written + i);
        const size_t took = session.write(id, std::span(chunk.data(), n));
        o.written += took;
        o.blocked = took < n;
      }
      if (o.written == o.total && !o.finished) {
        session.finish(id);
        o.finished = true;
      }
    }
  }

  void pump_reads(uint64_t now) {
    if (read_interval_us) {
      if (now < next_read) return;
      next_read = now + read_interval_us;
    }
    if (read_per_ms) {
      const uint64_t ms = now / 1000;
      if (ms > budget_at) read_budget = std::min(read_budget + (ms - budget_at) * read_per_ms, 64 * read_per_ms);
      budget_at = ms;
    }
    for (auto& [id, i] : in) {
      if (i.eof) continue;
      for (;;) {
        auto piece = session.peek(id);
        size_t n = piece.size();
        if (read_per_ms) n = static_cast<size_t>(std::min<uint64_t>(n, read_budget));
        if (n == 0) break;
        for (size_t k = 0; k < n; ++k)
          if (piece[k] != pattern_byte(id, i.got + k)) i.corrupt = true;
        i.got += n;
        session.consume(id, n);
        if (read_per_ms) read_budget -= n;
      }
      if (session.at_eof(id)) {
        i.eof = true;
        if (finish_after_eof && !out.count(id)) session.finish(id);
      }
    }
  }

  void drain_events() {
    StreamEvent e;
    while (session.poll(e)) {
      ++events[static_cast<size_t>(e.kind)];
      if (e.kind == StreamEvent::Kind::opened) in[e.stream];
      if (e.kind == StreamEvent::Kind::reset) resets.push_back(e.stream);
      if (e.kind == StreamEvent::Kind::writable)
        if (auto it = out.find(e.stream); it != out.end()) it->second.blocked = false;
    }
  }

  void pump(uint64_t now) {
    if (!active) return;
    drain_events();
    pump_reads(now);
    pump_writes();
  }
};

class StreamSim {
 public:
  using Time = relay::Time;

  StreamSim(relay::LinkParams up_params, relay::LinkParams down_params, const StreamConfig& config = {},
            uint64_t seed = 1)
      : client(StreamRole::client, config),
        server(StreamRole::server, config),
        up(up_params, seed),
        down(down_params, seed * 7919 + 1),
        client_app(client),
        server_app(server) {}

  StreamSession client, server;
  relay::Link up, down;  // client to server, server to client
  StreamApp client_app, server_app;
  uint64_t now = 1'000'000;
  // Session wakeups are rounded up to this (a libuv timer has 1 ms); 0: exact.
  uint64_t timer_granularity = 0;
  size_t packet_size = default_stream_packet_size;
  std::function<void()> each_step;  // after the packets of a step are delivered
  uint64_t steps = 0;
  uint64_t datagrams = 0;

  // Runs until `done` or the deadline (simulated); true if done.
  bool run(uint64_t until, const std::function<bool()>& done) {
    while (now < until) {
      step();
      if (done()) return true;
    }
    return done();
  }

  void step() {
    ++steps;
    for (auto& p : up.pop_due(Time(static_cast<int64_t>(now)))) deliver(server, client, p);
    for (auto& p : down.pop_due(Time(static_cast<int64_t>(now)))) deliver(client, server, p);
    if (each_step) each_step();
    client_app.pump(now);
    server_app.pump(now);
    send(client, up);
    send(server, down);
    now = next_time();
  }

 private:
  void deliver(StreamSession& to, StreamSession&, const std::vector<uint8_t>& p) {
    (void)to.receive(p, now);
  }

  void send(StreamSession& s, relay::Link& link) {
    std::vector<uint8_t> buf;
    for (int i = 0; i < 100'000 && s.produce(now, packet_size, buf); ++i) {
      link.submit(Time(static_cast<int64_t>(now)), buf);
      ++datagrams;
    }
  }

  uint64_t next_time() const {
    uint64_t t = now + 10'000;  // applications are looked at every 10 ms at least
    auto session_time = [&](const StreamSession& s) {
      auto w = s.next_wakeup(now);
      if (!w) return;
      uint64_t at = *w;
      if (timer_granularity) at = (at + timer_granularity - 1) / timer_granularity * timer_granularity;
      t = std::min(t, at);
    };
    session_time(client);
    session_time(server);
    for (const relay::Link* l : {&up, &down})
      if (auto due = l->next_due()) t = std::min(t, static_cast<uint64_t>(due->count()));
    return std::max(t, now + 1);
  }
};

}  // namespace roam::test
