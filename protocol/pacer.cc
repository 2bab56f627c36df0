#include "protocol/pacer.h"

#include <algorithm>
#include <cmath>

namespace roam {

double Pacer::level(uint64_t now) const {
  const double elapsed = now > updated_ ? static_cast<double>(now - updated_) : 0;
  return std::min(burst_, tokens_ + elapsed * rate_);
}

void Pacer::set_rate(double bytes_per_second, double burst_bytes, uint64_t now) {
  if (rate_ > 0) tokens_ = level(now);
  else tokens_ = burst_bytes;
  updated_ = std::max(updated_, now);
  rate_ = bytes_per_second / 1e6;
  burst_ = burst_bytes;
  tokens_ = std::min(tokens_, burst_);
}

uint64_t Pacer::next_send_time(uint64_t now) const {
  const double l = level(now);
  if (rate_ <= 0 || l >= 0) return now;
  return now + static_cast<uint64_t>(std::ceil(-l / rate_));
}

void Pacer::on_sent(uint64_t now, uint64_t bytes) {
  if (rate_ <= 0) return;
  tokens_ = level(now) - static_cast<double>(bytes);
  updated_ = std::max(updated_, now);
}

}  // namespace roam
