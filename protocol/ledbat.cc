#include "protocol/ledbat.h"

#include <algorithm>

namespace roam {

namespace {

using namespace ledbat_params;

constexpr double slow_start_exit = 0.75;  // of the target, as LEDBAT++
constexpr double slow_start_pacing_gain = 2.0;
constexpr double pacing_gain = 1.25;
constexpr uint64_t pacing_burst_us = 1'000;  // what a millisecond timer may owe
constexpr double min_burst_packets = 4;
constexpr double gain = 0.25;  // FAST TCP's gamma; 0.5 swung the queue 2x wider here

}  // namespace

Ledbat::Ledbat(uint64_t packet_size)
    : mss_(static_cast<double>(packet_size)),
      cwnd_(mss_ * initial_window_packets),
      ssthresh_(static_cast<double>(max_window)) {}

void Ledbat::record_delay(uint64_t now, uint64_t rtt) {
  current_[current_next_] = rtt;
  current_next_ = (current_next_ + 1) % current_.size();
  current_used_ = std::min(current_used_ + 1, current_.size());
  if (base_used_ == 0 || now >= bucket_start_ + base_bucket_us) {
    if (base_used_ == base_.size()) {
      std::rotate(base_.begin(), base_.begin() + 1, base_.end());
      --base_used_;
    }
    base_[base_used_++] = rtt;
    bucket_start_ = now;
  }
  base_[base_used_ - 1] = std::min(base_[base_used_ - 1], rtt);
}

uint64_t Ledbat::base_delay() const {
  if (base_used_ == 0) return 0;
  return *std::min_element(base_.begin(), base_.begin() + static_cast<std::ptrdiff_t>(base_used_));
}

uint64_t Ledbat::current_delay() const {
  if (current_used_ == 0) return 0;
  return *std::min_element(current_.begin(), current_.begin() + static_cast<std::ptrdiff_t>(current_used_));
}

uint64_t Ledbat::queueing_delay() const { return current_delay() - base_delay(); }

bool Ledbat::is_congestion(const RecoveryOutcome& out) const {
  if (out.largest_lost_sent_at <= recovery_start_) return false;
  if (queueing_delay() > loss_delay_factor * target_us) return true;
  const uint64_t total = round_acked_ + round_lost_;
  return round_lost_ >= loss_burst_packets && static_cast<double>(round_lost_) >= loss_burst_share * static_cast<double>(total);
}

void Ledbat::reduce(uint64_t now) {
  cwnd_ = std::max(cwnd_ / 2, mss_ * min_window_packets);
  ssthresh_ = cwnd_;
  slow_start_ = false;
  recovery_start_ = now;
  ++congestion_events_;
}

void Ledbat::grow(uint64_t acked, uint64_t in_flight_before) {
  // A window the sender does not fill says nothing about the path.
  if (2 * static_cast<double>(in_flight_before) < cwnd_) return;
  const double bytes = static_cast<double>(acked);
  const double q = static_cast<double>(queueing_delay()) / static_cast<double>(target_us);
  if (slow_start_) {
    if (q <= slow_start_exit && cwnd_ < ssthresh_) {
      cwnd_ += bytes;
      return;
    }
    slow_start_ = false;
    ssthresh_ = cwnd_;
  }
  // Per round trip the window moves by gain * W * (target - q) / (base + q)
  // (FAST TCP), at least by RFC 6817's one packet when under the target.
  const double base = static_cast<double>(std::max<uint64_t>(base_delay(), 1));
  const double delay = static_cast<double>(queueing_delay());
  const double off = static_cast<double>(target_us) - delay;
  double change = gain * bytes * off / (base + delay);
  if (off > 0) change = std::max(change, mss_ * bytes / cwnd_ * (1 - q));
  // At most slow start's doubling, at most a halving, per round trip.
  cwnd_ += std::clamp(change, -bytes / 2, bytes);
  cwnd_ = std::clamp(cwnd_, mss_ * min_window_packets, static_cast<double>(max_window));
}

void Ledbat::slowdown(uint64_t now, uint64_t srtt) {
  if (slowing_) {
    if (now < slowdown_until_) return;
    slowing_ = false;
    ssthresh_ = saved_cwnd_;
    slow_start_ = true;
    next_slowdown_ = now + slowdown_interval_us;
    return;
  }
  if (slow_start_) return;
  if (next_slowdown_ == 0) next_slowdown_ = now + slowdown_interval_us;
  if (now < next_slowdown_ || cwnd_ <= 4 * mss_) return;
  slowing_ = true;
  saved_cwnd_ = cwnd_;
  cwnd_ = mss_ * min_window_packets;
  slowdown_until_ = now + 2 * srtt;
}

void Ledbat::update_pacer(uint64_t now, const RttStats& rtt) {
  if (!rtt.has_sample) return;
  const double gain = slow_start_ ? slow_start_pacing_gain : pacing_gain;
  const double rate = gain * cwnd_ / static_cast<double>(std::max<uint64_t>(rtt.smoothed, 1)) * 1e6;
  const double burst = std::max(min_burst_packets * mss_, rate * pacing_burst_us / 1e6);
  pacer_.set_rate(rate, burst, now);
}

void Ledbat::on_outcome(uint64_t now, const RecoveryOutcome& out, const RttStats& rtt) {
  if (out.rtt) record_delay(now, *out.rtt);
  if (now >= round_start_ + rtt.smoothed) {
    round_start_ = now;
    round_acked_ = round_lost_ = 0;
  }
  round_acked_ += out.acked_packets;
  round_lost_ += out.lost_packets;
  if (out.persistent_congestion) {
    // An outage, most likely: start again from the minimum, but slow-start
    // back to where we were rather than creep.
    ssthresh_ = std::max(cwnd_, mss_ * min_window_packets);
    cwnd_ = mss_ * min_window_packets;
    slow_start_ = true;
    slowing_ = false;
    recovery_start_ = now;
    ++congestion_events_;
  } else if (out.lost_packets > 0 && is_congestion(out)) {
    reduce(now);
  }
  if (out.acked_bytes > 0 && !slowing_) grow(out.acked_bytes, out.in_flight_before);
  slowdown(now, rtt.smoothed);
  update_pacer(now, rtt);
}

void Ledbat::on_path_change() {
  base_used_ = current_used_ = current_next_ = 0;
  cwnd_ = mss_ * initial_window_packets;
  ssthresh_ = static_cast<double>(max_window);
  slow_start_ = true;
  slowing_ = false;
  next_slowdown_ = 0;
  pacer_ = Pacer{};
}

}  // namespace roam
