// Spreads packets over time at a given rate (RFC 9002 section 7.7), so a
// window's worth never lands in the bottleneck queue at once. A token bucket:
// tokens (bytes) refill at the rate up to a burst; a packet may go while the
// bucket is not in debt and leaves it in debt by its size. The burst covers
// a caller that wakes up late (a millisecond timer): what it could not send
// on time it may send at once, up to the burst. Time is in microseconds.
#pragma once

#include <cstdint>

namespace roam {

class Pacer {
 public:
  // `bytes_per_second` 0 means no pacing.
  void set_rate(double bytes_per_second, double burst_bytes, uint64_t now);
  bool can_send(uint64_t now) const { return rate_ <= 0 || level(now) >= 0; }
  // When can_send() becomes true.
  uint64_t next_send_time(uint64_t now) const;
  void on_sent(uint64_t now, uint64_t bytes);
  double rate() const { return rate_; }

 private:
  double level(uint64_t now) const;

  double rate_ = 0;   // bytes per microsecond
  double burst_ = 0;  // bytes
  double tokens_ = 0;
  uint64_t updated_ = 0;
};

}  // namespace roam
