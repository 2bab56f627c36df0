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
    const uint64_t gap = seq - *highest_ - 1;
    if (gap <= max_burst)
      for (uint64_t i = 0; i < gap; ++i) loss_ += weight * (1 - loss_);
    highest_ = seq;
    loss_ -= weight * loss_;
    return;
  }
  // A late one (reordered) was counted lost when its gap opened: take that
  // back.
  loss_ = std::max(0.0, loss_ - weight);
}

}  // namespace roam
