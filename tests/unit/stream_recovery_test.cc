#include "protocol/stream_recovery.h"

#include <doctest/doctest.h>

#include <vector>

#include "protocol/stream_acks.h"

using namespace roam;
using namespace roam::stream_timing;

namespace {

// Records what recovery reports about frames.
struct Recorder final : RecoverySink {
  std::vector<uint64_t> acked, lost;  // the offsets of stream frames
  std::vector<uint64_t> acks_acked;
  int probes = 0;
  void frame_acked(const SentFrame& f) override { acked.push_back(f.offset); }
  void frame_lost(const SentFrame& f) override { lost.push_back(f.offset); }
  void ack_acked(uint64_t largest) override { acks_acked.push_back(largest); }
  void probe(bool) override { ++probes; }
};

// Sends packet numbers up to `n`, one stream frame each at offset 1000 * number.
void send(StreamRecovery& r, uint64_t n, uint64_t now, uint64_t spacing = 0) {
  while (r.next_number() < n) {
    const SentFrame f{SentKind::stream, false, 1000, 0, r.next_number() * 1000};
    r.on_sent(now, 1200, true, std::nullopt, std::span(&f, 1));
    now += spacing;
  }
}

std::vector<uint8_t> ack_bytes(const std::vector<Range>& ranges, uint64_t delay = 0) {
  std::vector<uint8_t> out;
  wire::Writer w(out);
  encode_ack(w, delay, ranges);
  return out;
}

Result<RecoveryOutcome> ack(StreamRecovery& r, const std::vector<Range>& ranges, uint64_t now, Recorder& sink,
                            uint64_t delay = 0) {
  const auto bytes = ack_bytes(ranges, delay);
  wire::Reader in(bytes);
  auto f = decode_frame(in);
  REQUIRE(f);
  return r.on_ack(f->ack, now, sink);
}

}  // namespace

TEST_CASE("an ACK settles packets and measures the round trip, less the ack delay") {
  StreamRecovery r;
  Recorder sink;
  send(r, 4, 1'000'000);
  CHECK(r.bytes_in_flight() == 4 * 1200);
  auto out = ack(r, {{0, 4}}, 1'050'000, sink);
  REQUIRE(out);
  CHECK(out->acked_packets == 4);
  CHECK(out->rtt == 50'000);  // the first sample is taken whole
  CHECK(r.bytes_in_flight() == 0);
  CHECK(sink.acked == std::vector<uint64_t>{0, 1000, 2000, 3000});
  send(r, 5, 2'000'000);
  out = ack(r, {{0, 5}}, 2'054'000, sink, 4'000);
  CHECK(out->rtt == 50'000);
  CHECK(r.tracked_packets() == 0);
}

TEST_CASE("three newer packets acknowledged: the older one is lost") {
  StreamRecovery r;
  Recorder sink;
  send(r, 5, 1'000'000);
  auto out = ack(r, {{3, 5}}, 1'050'000, sink);
  CHECK(out->lost_packets == 2);  // 4, the largest, is 3 or more past 0 and 1, not 2
  CHECK(sink.lost == std::vector<uint64_t>{0, 1000});
  // 2 goes by the time threshold: 9/8 of the round trip after it was sent.
  REQUIRE(r.timer());
  CHECK(*r.timer() == 1'000'000 + 50'000 * 9 / 8);
  (void)r.on_timer(*r.timer(), sink);
  CHECK(sink.lost == std::vector<uint64_t>{0, 1000, 2000});
  CHECK(r.bytes_in_flight() == 0);
}

TEST_CASE("attack: an ACK for a packet never sent is refused and changes nothing") {
  StreamRecovery r;
  Recorder sink;
  send(r, 3, 1'000'000);
  CHECK_FALSE(ack(r, {{0, 4}}, 1'050'000, sink));
  CHECK(r.bytes_in_flight() == 3 * 1200);
  CHECK(sink.acked.empty());
}

TEST_CASE("attack: a huge range costs only what is tracked") {
  StreamRecovery r;
  Recorder sink;
  send(r, 1'000'000, 1'000'000);  // numbers far into the millions ...
  auto first = ack(r, {{0, 999'990}}, 1'050'000, sink);
  REQUIRE(first);
  CHECK(r.tracked_packets() == 10);
  // ... then a range from zero: only the ten still tracked are looked at.
  auto out = ack(r, {{0, 1'000'000}}, 1'060'000, sink);
  REQUIRE(out);
  CHECK(out->acked_packets == 10);
  CHECK(r.tracked_packets() == 0);
}

TEST_CASE("probe timeouts back off, but never further apart than the cap, then a second") {
  StreamRecovery r;
  Recorder sink;
  uint64_t now = 1'000'000;
  send(r, 1, now);
  REQUIRE(ack(r, {{0, 1}}, now + 100'000, sink));  // an RTT of 100 ms
  r.on_peer_heard(now + 100'000);
  now += 200'000;
  send(r, 2, now);
  REQUIRE(r.timer());
  CHECK(*r.timer() == now + r.pto_base());
  std::vector<uint64_t> gaps;
  uint64_t last = now;
  for (int i = 0; i < 1400; ++i) {
    now = *r.timer();
    (void)r.on_timer(now, sink);
    REQUIRE(r.probe_due());
    gaps.push_back(now - last);
    last = now;
    // The probe goes out.
    const SentFrame f{SentKind::stream, false, 10, 0, 0};
    r.on_sent(now, 100, true, std::nullopt, std::span(&f, 1));
    r.on_probe_sent();
  }
  CHECK(gaps[0] == r.pto_base());
  CHECK(gaps[1] == probe_cap_us);  // 2 PTOs would be longer than the cap
  CHECK(gaps[500] == probe_cap_us);
  CHECK(gaps.back() == long_probe_cap_us);  // past a minute of silence
  CHECK(sink.probes == 1400);
}

TEST_CASE("hearing the peer during a backoff sends a probe at once, once") {
  StreamRecovery r;
  Recorder sink;
  send(r, 1, 1'000'000);
  (void)r.on_timer(*r.timer(), sink);
  REQUIRE(r.probe_due());
  r.on_probe_sent();
  CHECK_FALSE(r.probe_due());
  r.on_peer_heard(1'500'000);
  CHECK(r.probe_due());
  r.on_probe_sent();
  r.on_peer_heard(1'500'100);
  CHECK_FALSE(r.probe_due());
}

TEST_CASE("losing packets spread over three probe timeouts is persistent congestion") {
  StreamRecovery r;
  Recorder sink;
  send(r, 1, 1'000'000);
  REQUIRE(ack(r, {{0, 1}}, 1'050'000, sink));
  uint64_t now = 2'000'000;
  send(r, 20, now, 100'000);  // across 1.9 s, with no ack between
  now += 2'000'000;
  send(r, 21, now);
  auto out = ack(r, {{20, 21}}, now + 50'000, sink);
  REQUIRE(out);
  CHECK(out->lost_packets == 19);
  CHECK(out->persistent_congestion);
}

TEST_CASE("after a path change, packets sent on the old path give no RTT sample") {
  StreamRecovery r;
  Recorder sink;
  send(r, 1, 1'000'000);
  REQUIRE(ack(r, {{0, 1}}, 1'010'000, sink));
  send(r, 2, 1'020'000);
  r.on_path_change(1'030'000, initial_rtt_us);
  auto out = ack(r, {{0, 2}}, 1'200'000, sink);
  REQUIRE(out);
  CHECK_FALSE(out->rtt);
  CHECK_FALSE(r.rtt().has_sample);
  send(r, 3, 1'300'000);
  out = ack(r, {{0, 3}}, 1'600'000, sink);
  CHECK(out->rtt == 300'000);
  CHECK(r.rtt().min == 300'000);
}

TEST_CASE("an ACK of a packet that carried our ACK says how far the peer has our acks") {
  StreamRecovery r;
  Recorder sink;
  r.on_sent(1'000'000, 50, false, 77, {});
  send(r, 2, 1'000'000);
  REQUIRE(ack(r, {{0, 2}}, 1'050'000, sink));
  CHECK(sink.acks_acked == std::vector<uint64_t>{77});
}
