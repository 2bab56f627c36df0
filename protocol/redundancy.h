// Loss-adaptive redundancy: on a link that loses datagrams, a small urgent
// state (a keystroke, the echo frame it causes) is cheap to send more than
// once, and waiting a retransmission timeout for each loss is what makes
// typing slow there. While the measured loss is above a threshold, such a
// state goes out again after a short spacing (one or two extra copies, by
// how lossy the link is) and is resent as soon as its acknowledgement is
// late rather than after a full timeout; the peer, measuring the same link,
// acknowledges promptly. Bulk frames and stream data are never duplicated,
// and at no measured loss nothing extra is sent.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/connection.h"

namespace roam {

namespace redundancy {
inline constexpr double on_above = 0.05;    // measured loss that turns it on ...
inline constexpr double off_below = 0.025;  // ... and off again (hysteresis)
inline constexpr double second_copy_above = 0.2;
inline constexpr size_t max_urgent_diff = 400;  // bytes of diff: beyond, a state is bulk
inline constexpr uint64_t prompt_ack_delay = 20;  // ms, instead of the usual delayed ack
}  // namespace redundancy

class Redundancy {
 public:
  // Follows the measured loss of the link (LossMeter).
  void update(double loss);
  bool active() const { return active_; }
  // Extra copies of an urgent state: 0 while inactive.
  int copies() const;
  // Between the copies: a 25th of the round trip, within 2-20 ms: apart,
  // so that they are not one burst on the wire, but holding the echo back
  // little when the first is lost.
  static uint64_t spacing(const RttEstimator& rtt);
  // When an urgent state's acknowledgement is late: one round trip, its
  // variation, the peer's prompt ack and the copies' spacing.
  uint64_t patience(const RttEstimator& rtt) const;
  // How long to hold an acknowledgement.
  uint64_t ack_delay(uint64_t usual) const { return active_ ? redundancy::prompt_ack_delay : usual; }

 private:
  bool active_ = false;
  double loss_ = 0;
};

}  // namespace roam
