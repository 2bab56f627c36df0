// Delay-based congestion control after LEDBAT (RFC 6817) and LEDBAT++
// (draft-irtf-iccrg-ledbat-plus-plus): the window grows while the queueing
// delay we measure stays under a 20 ms target and shrinks above it, so a
// bulk transfer keeps the bottleneck busy without filling its queue, and
// keystrokes queued behind it wait about the target. (DESIGN.md says ~25 ms;
// the controller swings a few ms around its target, so 20 keeps the 90th
// percentile under 25: measured in tests/unit/stream_network_test.cc.)
//
// Queueing delay is measured from round-trip samples (the current RTT, the
// least of the last few samples, minus a base RTT, the least seen over the
// last two minutes), not from one-way delays. Why: the promise to keep is
// about keystroke-to-echo time, a round trip, so RTT is the quantity to
// control; it needs no clock agreement between the ends (one-way delays drift
// with the clocks) and no extra bytes per packet. When the other direction
// is busy too, its queue counts against our target: together they stay near
// the target, which is what an echo sees.
//
// The window moves towards the one that keeps the target queued by a share
// of the distance each round trip (FAST TCP's form of LEDBAT's linear
// controller), so it converges in a few round trips at any bandwidth, where
// RFC 6817's one packet per round trip takes seconds to refill a 20 Mbit/s,
// 50 ms path after a reduction.
//
// Loss is only a backstop: random loss (1% on a bad radio link) must not
// halve the window as in Reno, so a loss only counts as congestion when the
// delay is over twice the target as well, or when many packets of a round
// trip are lost (a queue too shallow to show delay). Every 30 s the window
// drops to the minimum for two round trips (LEDBAT++'s periodic slowdown) so
// that the queue drains and the base RTT is measured again. Sends are paced.
// Time is in microseconds, windows in bytes.
#pragma once

#include <array>
#include <cstdint>

#include "protocol/pacer.h"
#include "protocol/stream_recovery.h"

namespace roam {

namespace ledbat_params {
inline constexpr uint64_t target_us = 20'000;
// A loss while this many targets are queued is congestion.
inline constexpr uint64_t loss_delay_factor = 2;
inline constexpr uint64_t initial_window_packets = 10;
inline constexpr uint64_t min_window_packets = 2;
inline constexpr uint64_t max_window = uint64_t{64} << 20;
inline constexpr uint64_t base_bucket_us = 30'000'000;  // base RTT: 4 buckets of 30 s
inline constexpr size_t base_buckets = 4;
inline constexpr size_t current_filter = 4;
inline constexpr uint64_t slowdown_interval_us = 30'000'000;
// A round trip with at least this many losses, and this share of its packets
// lost, is congestion even without delay.
inline constexpr uint64_t loss_burst_packets = 8;
inline constexpr double loss_burst_share = 0.05;
}  // namespace ledbat_params

class Ledbat {
 public:
  explicit Ledbat(uint64_t packet_size);

  // What an ACK or a timer did, with the RTT statistics after it.
  void on_outcome(uint64_t now, const RecoveryOutcome& out, const RttStats& rtt);
  void on_sent(uint64_t now, uint64_t bytes) { pacer_.on_sent(now, bytes); }
  // A new path: forget the base delay and start over.
  void on_path_change();

  uint64_t window() const { return static_cast<uint64_t>(cwnd_); }
  bool window_allows(uint64_t in_flight) const { return in_flight < window(); }
  bool pacer_allows(uint64_t now) const { return pacer_.can_send(now); }
  uint64_t next_send_time(uint64_t now) const { return pacer_.next_send_time(now); }
  bool in_slow_start() const { return slow_start_; }

  uint64_t base_delay() const;
  uint64_t current_delay() const;
  uint64_t queueing_delay() const;
  uint64_t congestion_events() const { return congestion_events_; }

 private:
  void record_delay(uint64_t now, uint64_t rtt);
  bool is_congestion(const RecoveryOutcome& out) const;
  void reduce(uint64_t now);
  void grow(uint64_t acked, uint64_t in_flight_before);
  void slowdown(uint64_t now, uint64_t srtt);
  void update_pacer(uint64_t now, const RttStats& rtt);

  double mss_;
  double cwnd_;
  double ssthresh_;
  bool slow_start_ = true;
  uint64_t recovery_start_ = 0;  // losses of packets sent before do not count again
  uint64_t congestion_events_ = 0;

  std::array<uint64_t, ledbat_params::base_buckets> base_{};
  size_t base_used_ = 0;  // buckets filled, newest at base_[base_used_ - 1]
  uint64_t bucket_start_ = 0;
  std::array<uint64_t, ledbat_params::current_filter> current_{};
  size_t current_used_ = 0, current_next_ = 0;

  uint64_t round_start_ = 0;
  uint64_t round_acked_ = 0, round_lost_ = 0;

  uint64_t next_slowdown_ = 0;  // 0: not scheduled yet
  uint64_t slowdown_until_ = 0;
  double saved_cwnd_ = 0;
  bool slowing_ = false;

  Pacer pacer_;
};

}  // namespace roam
