// Stream transfers over a simulated network (tests/unit/stream_sim.h).
#include <doctest/doctest.h>

#include "protocol/ledbat.h"
#include "tests/unit/stream_sim.h"

using namespace roam;
using namespace roam::test;

namespace {

relay::LinkParams path(double delay_ms, double loss = 0, double rate_kbit = 0) {
  relay::LinkParams p;
  p.delay_ms = delay_ms;
  p.loss = loss;
  p.rate_kbit = rate_kbit;
  return p;
}

}  // namespace

TEST_CASE("a transfer arrives byte for byte on a clean link") {
  StreamSim sim(path(10), path(10));
  const uint64_t id = sim.client_app.send(1 << 20);
  const bool done = sim.run(sim.now + 60'000'000, [&] {
    auto it = sim.server_app.in.find(id);
    return it != sim.server_app.in.end() && it->second.eof;
  });
  CHECK(done);
  CHECK(sim.server_app.in[id].got == 1 << 20);
  CHECK_FALSE(sim.server_app.in[id].corrupt);
}

namespace {

struct Figures {
  double goodput_mbit = 0;
  double queue_p50_ms = 0, queue_p90_ms = 0, queue_p99_ms = 0, queue_max_ms = 0;
  double seconds = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

// Uploads `bytes` from client to server; samples the data path's queue every
// millisecond from `warmup` on, as a keystroke sent then would wait.
Figures bulk(StreamSim& sim, uint64_t bytes, uint64_t warmup_us) {
  const uint64_t start = sim.now;
  const uint64_t id = sim.client_app.send(bytes);
  std::vector<double> queue;
  uint64_t next_sample = start + warmup_us;
  sim.each_step = [&] {
    for (; next_sample <= sim.now; next_sample += 1000)
      queue.push_back(static_cast<double>(sim.up.backlog(relay::Time(static_cast<int64_t>(sim.now))).count()) / 1000);
  };
  const bool done = sim.run(start + 600'000'000, [&] {
    auto it = sim.server_app.in.find(id);
    return it != sim.server_app.in.end() && it->second.eof;
  });
  REQUIRE(done);
  CHECK(sim.server_app.in[id].got == bytes);
  CHECK_FALSE(sim.server_app.in[id].corrupt);
  sim.each_step = nullptr;
  Figures f;
  f.seconds = static_cast<double>(sim.now - start) / 1e6;
  f.goodput_mbit = static_cast<double>(bytes) * 8 / f.seconds / 1e6;
  f.queue_p50_ms = percentile(queue, 0.5);
  f.queue_p90_ms = percentile(queue, 0.9);
  f.queue_p99_ms = percentile(queue, 0.99);
  f.queue_max_ms = percentile(queue, 1.0);
  return f;
}

relay::LinkParams bad_path() {
  relay::LinkParams p = path(25, 0.01, 20'000);
  p.queue_ms = 1000;
  return p;
}

}  // namespace

TEST_CASE("goodput at 50 ms RTT, 20 Mbit/s, a 1 s queue and 1% loss each way") {
  StreamSim sim(bad_path(), bad_path());
  sim.timer_granularity = 1000;
  const Figures f = bulk(sim, 20 << 20, 2'000'000);
  const auto c = sim.client.counters();
  MESSAGE("goodput " << f.goodput_mbit << " Mbit/s in " << f.seconds << " s; queue p50 " << f.queue_p50_ms
                     << " p90 " << f.queue_p90_ms << " p99 " << f.queue_p99_ms << " max " << f.queue_max_ms
                     << " ms; lost " << c.packets_lost << " of " << c.packets_sent << ", congestion events "
                     << c.congestion_events << ", retransmitted " << c.streams.bytes_retransmitted);
  CHECK(f.goodput_mbit >= 16);
  CHECK(f.queue_p90_ms <= 30);
}

namespace {

relay::LinkParams rough_path(double loss) {
  relay::LinkParams p = path(25, loss, 20'000);
  p.queue_ms = 1000;
  p.reorder = 0.02;
  p.reorder_gap_ms = 15;
  p.dup = 0.01;
  return p;
}

bool arrived(StreamSim& sim, uint64_t id, uint64_t bytes) {
  auto it = sim.server_app.in.find(id);
  return it != sim.server_app.in.end() && it->second.eof && it->second.got == bytes;
}

}  // namespace

TEST_CASE("5 MB arrive byte for byte at 0%, 1% and 30% loss, reordered and duplicated") {
  for (double loss : {0.0, 0.01, 0.30}) {
    CAPTURE(loss);
    StreamSim sim(rough_path(loss), rough_path(loss), {}, static_cast<uint64_t>(loss * 1000) + 3);
    const uint64_t bytes = 5 << 20;
    const uint64_t start = sim.now;
    const uint64_t id = sim.client_app.send(bytes);
    REQUIRE(sim.run(start + 900'000'000, [&] { return arrived(sim, id, bytes); }));
    CHECK_FALSE(sim.server_app.in[id].corrupt);
    // Both directions end, and both ends forget the stream.
    CHECK(sim.run(sim.now + 60'000'000, [&] {
      return sim.client.counters().open_streams == 0 && sim.server.counters().open_streams == 0;
    }));
    CHECK(sim.client_app.event_count(StreamEvent::Kind::closed) == 1);
    CHECK(sim.server_app.event_count(StreamEvent::Kind::closed) == 1);
    const auto c = sim.client.counters();
    MESSAGE("loss " << loss << ": " << static_cast<double>(bytes) * 8 / (static_cast<double>(sim.now - start) / 1e6) / 1e6
                    << " Mbit/s, lost " << c.packets_lost << " of " << c.packets_sent << " sent, drops at the server "
                    << sim.server.counters().drops_total());
  }
}

TEST_CASE("a 30 s outage in the middle of a transfer: the same stream completes") {
  StreamSim sim(rough_path(0.01), rough_path(0.01));
  const uint64_t bytes = 5 << 20;
  const uint64_t id = sim.client_app.send(bytes);
  auto got = [&] {
    auto it = sim.server_app.in.find(id);
    return it == sim.server_app.in.end() ? 0 : it->second.got;
  };
  REQUIRE(sim.run(sim.now + 60'000'000, [&] { return got() >= bytes / 2; }));
  const uint64_t cut = sim.now;
  sim.up.outage(relay::Time(static_cast<int64_t>(cut + 30'000'000)));
  sim.down.outage(relay::Time(static_cast<int64_t>(cut + 30'000'000)));
  // What the client sends into the dead link, once the window is spent.
  REQUIRE_FALSE(sim.run(cut + 1'000'000, [] { return false; }));
  const uint64_t at_1s = sim.up.stats().bytes;
  REQUIRE_FALSE(sim.run(cut + 29'000'000, [] { return false; }));
  const uint64_t probe_bytes = sim.up.stats().bytes - at_1s;
  REQUIRE(sim.run(cut + 200'000'000, [&] { return arrived(sim, id, bytes); }));
  CHECK_FALSE(sim.server_app.in[id].corrupt);
  // Nothing was reset: no event said so, and the stream id is the same.
  CHECK(sim.client_app.resets.empty());
  CHECK(sim.server_app.resets.empty());
  const auto c = sim.client.counters();
  MESSAGE("probes " << c.probes_sent << ", done " << (sim.now - cut - 30'000'000) / 1000 << " ms after the link came back, "
                    << probe_bytes / 28 << " bytes/s into the dead link");
  // Probes were spaced by the 50 ms cap during the outage, and small.
  CHECK(c.probes_sent >= 500);
  CHECK(c.probes_sent <= 700);
  CHECK(probe_bytes / 28 <= 8000);
}

// The worst over link-return times spread across a probe interval.
uint64_t worst_resume(double loss) {
  uint64_t worst = 0;
  for (uint64_t phase = 0; phase < 100'000; phase += 9'000) {
    CAPTURE(phase);
    relay::LinkParams p = bad_path();
    p.loss = loss;
    StreamSim sim(p, p, {}, phase + 5);
    sim.timer_granularity = 1000;
    const uint64_t id = sim.client_app.send(uint64_t{1} << 30);
    REQUIRE_FALSE(sim.run(sim.now + 2'000'000, [] { return false; }));
    const uint64_t back = sim.now + 20'000'000 + phase;
    sim.up.outage(relay::Time(static_cast<int64_t>(back)));
    sim.down.outage(relay::Time(static_cast<int64_t>(back)));
    REQUIRE_FALSE(sim.run(back, [] { return false; }));
    REQUIRE(sim.server_app.in.count(id));
    const uint64_t before = sim.server_app.in[id].got;
    REQUIRE(sim.run(back + 2'000'000, [&] { return sim.server_app.in[id].got > before; }));
    worst = std::max(worst, sim.now - back);
  }
  return worst;
}

TEST_CASE("after a 20 s outage the transfer moves again within a round trip and 100 ms") {
  const uint64_t clean = worst_resume(0);
  const uint64_t lossy = worst_resume(0.01);
  MESSAGE("at worst, bytes move " << clean / 1000 << " ms after the link returns (" << lossy / 1000
                                  << " ms with 1% loss)");
  CHECK(clean <= 50'000 + 100'000);
  // A lost probe (or its ack) costs one more probe interval.
  CHECK(lossy <= 50'000 + 100'000 + stream_timing::probe_cap_us);
}

TEST_CASE("attack: a bulk transfer must not hold back a keystroke in another stream") {
  StreamSim sim(bad_path(), bad_path());
  sim.timer_granularity = 1000;
  (void)sim.client_app.send(uint64_t{1} << 30);
  REQUIRE_FALSE(sim.run(sim.now + 3'000'000, [] { return false; }));
  const uint64_t keys = *sim.client.open();  // written by the test, not the harness
  std::vector<double> delays;
  for (int i = 0; i < 50; ++i) {
    const uint8_t key = static_cast<uint8_t>('a' + i % 26);
    REQUIRE(sim.client.write(keys, std::span(&key, 1)) == 1);
    const uint64_t typed = sim.now;
    REQUIRE(sim.run(sim.now + 2'000'000, [&] {
      auto it = sim.server_app.in.find(keys);
      return it != sim.server_app.in.end() && it->second.got == static_cast<uint64_t>(i + 1);
    }));
    delays.push_back(static_cast<double>(sim.now - typed) / 1000);
    REQUIRE_FALSE(sim.run(sim.now + 100'000, [] { return false; }));
  }
  const double p90 = percentile(delays, 0.9);
  MESSAGE("a key in its own stream beside a bulk one: p50 " << percentile(delays, 0.5) << " ms, p90 " << p90
                                                           << " ms one way (25 ms path)");
  // One way, plus the queue the bulk flow keeps (the target), plus slack.
  CHECK(p90 <= 25 + static_cast<double>(ledbat_params::target_us) / 1000 + 10);
}

TEST_CASE("bulk both ways at once: both finish, and the two queues together stay near the target") {
  StreamSim sim(bad_path(), bad_path());
  sim.timer_granularity = 1000;
  const uint64_t bytes = 10 << 20;
  const uint64_t up = sim.client_app.send(bytes);
  const uint64_t down = sim.server_app.send(bytes);
  std::vector<double> round_trip_queue;
  uint64_t next = sim.now + 3'000'000;
  sim.each_step = [&] {
    for (; next <= sim.now; next += 1000) {
      const relay::Time t(static_cast<int64_t>(sim.now));
      round_trip_queue.push_back(static_cast<double>((sim.up.backlog(t) + sim.down.backlog(t)).count()) / 1000);
    }
  };
  auto done = [&](StreamApp& app, uint64_t id) {
    auto it = app.in.find(id);
    return it != app.in.end() && it->second.eof && it->second.got == bytes && !it->second.corrupt;
  };
  REQUIRE(sim.run(sim.now + 120'000'000, [&] { return done(sim.server_app, up) && done(sim.client_app, down); }));
  MESSAGE("both ways: queue up + down p50 " << percentile(round_trip_queue, 0.5) << " p90 "
                                            << percentile(round_trip_queue, 0.9) << " ms");
  CHECK(percentile(round_trip_queue, 0.9) <= 30);
}
