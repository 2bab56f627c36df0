#include "protocol/ledbat.h"

#include <doctest/doctest.h>

using namespace roam;
using namespace roam::ledbat_params;

namespace {

constexpr uint64_t mss = 1200;

// An ACK of `packets` packets with a round trip of `rtt`, the window full.
RecoveryOutcome acked(const Ledbat& c, uint64_t packets, uint64_t rtt) {
  RecoveryOutcome o;
  o.acked_packets = packets;
  o.acked_bytes = packets * mss;
  o.rtt = rtt;
  o.in_flight_before = c.window();
  return o;
}

RttStats stats(uint64_t srtt) {
  RttStats s;
  s.has_sample = true;
  s.smoothed = s.min = s.latest = srtt;
  return s;
}

// Feeds a window's worth of acks per round trip, for `rounds` round trips.
void rounds(Ledbat& c, uint64_t& now, int n, uint64_t base, uint64_t queue) {
  for (int i = 0; i < n; ++i) {
    const uint64_t packets = std::max<uint64_t>(1, c.window() / mss);
    for (uint64_t p = 0; p < packets; ++p) c.on_outcome(now, acked(c, 1, base + queue), stats(base + queue));
    now += base + queue;
  }
}

}  // namespace

TEST_CASE("slow start doubles the window each round trip until the queue grows") {
  Ledbat c(mss);
  uint64_t now = 1'000'000;
  CHECK(c.window() == initial_window_packets * mss);
  rounds(c, now, 3, 50'000, 0);
  CHECK(c.in_slow_start());
  CHECK(c.window() == 8 * initial_window_packets * mss);
  rounds(c, now, 1, 50'000, target_us);  // the queue shows
  CHECK_FALSE(c.in_slow_start());
}

TEST_CASE("the window settles where the queue is at the target") {
  Ledbat c(mss);
  uint64_t now = 1'000'000;
  rounds(c, now, 1, 50'000, 0);
  rounds(c, now, 1, 50'000, target_us);  // out of slow start
  const uint64_t w = c.window();
  rounds(c, now, 5, 50'000, target_us / 2);
  CHECK(c.window() > w);  // under the target: grows
  const uint64_t high = c.window();
  rounds(c, now, 5, 50'000, 3 * target_us);
  // Far over: shrinks by gain * (q - target) / (base + q), 9% a round trip here.
  CHECK(c.window() < high * 3 / 4);
  CHECK(c.queueing_delay() == 3 * target_us);
  CHECK(c.base_delay() == 50'000);
}

TEST_CASE("random loss is not congestion; loss with a long queue, or many losses, is") {
  Ledbat c(mss);
  uint64_t now = 1'000'000;
  rounds(c, now, 5, 50'000, 0);
  rounds(c, now, 1, 50'000, target_us);
  auto loss = [&](uint64_t packets) {
    RecoveryOutcome o;
    o.lost_packets = packets;
    o.lost_bytes = packets * mss;
    o.largest_lost_sent_at = now - 1;
    c.on_outcome(now, o, stats(70'000));
  };
  const uint64_t w = c.window();
  loss(1);  // one packet, the queue at the target: random
  CHECK(c.window() == w);
  CHECK(c.congestion_events() == 0);
  now += 100'000;
  loss(10);  // ten in a round trip of a few dozen: congestion
  CHECK(c.window() <= w / 2 + mss);
  CHECK(c.congestion_events() == 1);
  // Losses of packets sent before the reduction do not count again.
  RecoveryOutcome old;
  old.lost_packets = 20;
  old.largest_lost_sent_at = now - 10;
  c.on_outcome(now + 1, old, stats(70'000));
  CHECK(c.congestion_events() == 1);
  // A single loss with more than twice the target queued is congestion.
  Ledbat d(mss);
  uint64_t t = 1'000'000;
  rounds(d, t, 3, 50'000, 0);
  rounds(d, t, 1, 50'000, 3 * target_us);
  RecoveryOutcome one;
  one.lost_packets = 1;
  one.largest_lost_sent_at = t - 1;
  d.on_outcome(t, one, stats(120'000));
  CHECK(d.congestion_events() == 1);
}

TEST_CASE("persistent congestion: the minimum window, then slow start back") {
  Ledbat c(mss);
  uint64_t now = 1'000'000;
  rounds(c, now, 4, 50'000, 0);
  const uint64_t before = c.window();
  RecoveryOutcome o;
  o.persistent_congestion = true;
  c.on_outcome(now, o, stats(50'000));
  CHECK(c.window() == min_window_packets * mss);
  CHECK(c.in_slow_start());
  rounds(c, now, 12, 50'000, 0);
  CHECK(c.window() >= before);
}

TEST_CASE("a window the sender does not fill does not grow") {
  Ledbat c(mss);
  const uint64_t w = c.window();
  for (int i = 0; i < 100; ++i) {
    RecoveryOutcome o = acked(c, 1, 50'000);
    o.in_flight_before = mss;  // one packet at a time: application-limited
    c.on_outcome(1'000'000 + static_cast<uint64_t>(i) * 50'000, o, stats(50'000));
  }
  CHECK(c.window() == w);
}

TEST_CASE("a new path forgets the base delay") {
  Ledbat c(mss);
  uint64_t now = 1'000'000;
  rounds(c, now, 3, 10'000, 0);
  CHECK(c.base_delay() == 10'000);
  c.on_path_change();
  rounds(c, now, 1, 200'000, 0);
  CHECK(c.base_delay() == 200'000);
  CHECK(c.queueing_delay() == 0);
}

TEST_CASE("every 30 s the window dips for two round trips, so the base is measured again") {
  Ledbat c(mss);
  uint64_t now = 1'000'000;
  rounds(c, now, 3, 50'000, 0);
  rounds(c, now, 2, 50'000, target_us);
  const uint64_t before = c.window();
  const uint64_t end = now + slowdown_interval_us + 1'000'000;
  while (now < end && c.window() > min_window_packets * mss) rounds(c, now, 1, 50'000, target_us);
  CHECK(c.window() == min_window_packets * mss);
  CHECK(now > end - 2'000'000);
  // The queue drains meanwhile; slow start takes the window back.
  rounds(c, now, 10, 50'000, 0);
  CHECK(c.window() >= before);
}

TEST_CASE("the pacer spreads packets at its rate, with a burst for a late caller") {
  Pacer p;
  CHECK(p.can_send(0));  // no rate: no pacing
  p.set_rate(1e6, 4800, 1'000'000);  // 1 MB/s: a byte a microsecond
  // The bucket starts full; a packet may go while it is not in debt.
  int sent = 0;
  while (p.can_send(1'000'000)) {
    p.on_sent(1'000'000, 1200);
    ++sent;
  }
  CHECK(sent == 5);
  CHECK(p.next_send_time(1'000'000) == 1'001'200);
  CHECK(p.can_send(1'001'200));
  // A caller that wakes a second later may send the burst, no more.
  sent = 0;
  while (p.can_send(2'000'000)) {
    p.on_sent(2'000'000, 1200);
    ++sent;
  }
  CHECK(sent == 5);  // the 4800-byte bucket, and one more into debt
}
