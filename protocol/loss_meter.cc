#include "protocol/loss_meter.h"

#include <algorithm>

namespace roam {

void LossMeter::arrived(uint64_t seq) {
  if (!highest_) {
    highest_ = seq;
    return;
  }
  // A replay or a duplicate of the newest says nothing about loss.
  if (seq == *highest_) return;
  if (seq > *highest_) {
    const uint64_t gap = std::min(seq - *highest_ - 1, max_gap);
    for (uint64_t i = 0; i < gap; ++i) loss_ += weight * (1 - loss_);
    highest_ = seq;
  }
  // A late one (reordered) was counted lost when the gap opened; it counts
  // as an arrival now, which takes most of that back.
  loss_ -= weight * loss_;
}

}  // namespace roam
