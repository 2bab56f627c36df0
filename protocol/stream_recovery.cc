#include "protocol/stream_recovery.h"

#include <algorithm>

#include "protocol/stream_acks.h"

namespace roam {

namespace {

using namespace stream_timing;

constexpr uint64_t packet_threshold = 3;
constexpr uint64_t persistent_congestion_threshold = 3;

uint64_t abs_diff(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

}  // namespace

uint64_t RttStats::sample(uint64_t rtt, uint64_t ack_delay) {
  latest = rtt;
  if (!has_sample) {
    has_sample = true;
    min = smoothed = rtt;
    var = rtt / 2;
    return rtt;
  }
  min = std::min(min, rtt);
  ack_delay = std::min(ack_delay, max_ack_delay_us);
  // Only remove the ack delay when what is left is still a plausible path RTT.
  const uint64_t adjusted = rtt >= min + ack_delay ? rtt - ack_delay : rtt;
  var = (3 * var + abs_diff(smoothed, adjusted)) / 4;
  smoothed = (7 * smoothed + adjusted) / 8;
  return adjusted;
}

void RttStats::reset(uint64_t initial) {
  *this = RttStats{};
  smoothed = initial;
  var = initial / 2;
}

uint64_t StreamRecovery::pto_base() const {
  return rtt_.smoothed + std::max(4 * rtt_.var, granularity_us) + max_ack_delay_us;
}

void StreamRecovery::set_initial_rtt(uint64_t rtt) {
  if (!rtt_.has_sample && rtt > 0) rtt_.reset(rtt);
}

void StreamRecovery::on_sent(uint64_t now, uint32_t bytes, bool ack_eliciting, std::optional<uint64_t> ack_largest,
                             std::span<const SentFrame> frames) {
  Sent p;
  p.number = next_number_++;
  p.sent_at = now;
  p.bytes = bytes;
  p.ack_eliciting = ack_eliciting;
  p.has_ack = ack_largest.has_value();
  p.ack_largest = ack_largest.value_or(0);
  p.first_frame = frames_base_ + frames_.size();
  p.frame_count = static_cast<uint32_t>(frames.size());
  for (const SentFrame& f : frames) frames_.push_back(f);
  sent_.push_back(p);
  if (ack_eliciting) {
    bytes_in_flight_ += bytes;
    ++eliciting_in_flight_;
    last_eliciting_sent_ = now;
  }
}

StreamRecovery::Sent* StreamRecovery::find(uint64_t number) {
  if (sent_.empty() || number < sent_.front().number) return nullptr;
  const uint64_t i = number - sent_.front().number;
  return i < sent_.size() ? &sent_[static_cast<size_t>(i)] : nullptr;
}

void StreamRecovery::acknowledge(Sent& p, RecoverySink& sink, RecoveryOutcome& out) {
  p.state = State::acked;
  if (p.ack_eliciting) {
    bytes_in_flight_ -= p.bytes;
    --eliciting_in_flight_;
    out.acked_bytes += p.bytes;
    ++out.acked_packets;
  }
  each_frame(p, [&](const SentFrame& f) { sink.frame_acked(f); });
  if (p.has_ack) sink.ack_acked(p.ack_largest);
}

void StreamRecovery::lose(Sent& p, RecoverySink& sink, RecoveryOutcome& out) {
  p.state = State::lost;
  if (!p.ack_eliciting) return;
  bytes_in_flight_ -= p.bytes;
  --eliciting_in_flight_;
  out.lost_bytes += p.bytes;
  ++out.lost_packets;
  out.largest_lost_sent_at = std::max(out.largest_lost_sent_at, p.sent_at);
  each_frame(p, [&](const SentFrame& f) { sink.frame_lost(f); });
}

Result<RecoveryOutcome> StreamRecovery::on_ack(const AckFrame& ack, uint64_t now, RecoverySink& sink) {
  if (ack.largest >= next_number_) return fail(Errc::malformed);
  RecoveryOutcome out;
  out.in_flight_before = bytes_in_flight_;
  const uint64_t first = sent_.empty() ? next_number_ : sent_.front().number;
  bool largest_newly_acked = false, eliciting_acked = false, any_acked = false;
  uint64_t largest_sent_at = 0;
  AckRangeReader ranges(ack);
  for (Range r; ranges.next(r);) {
    // Only numbers still tracked: a huge range costs no more than the window.
    for (uint64_t n = std::max(r.begin, first); n < r.end; ++n) {
      Sent* p = find(n);
      if (!p) break;
      if (p->state != State::outstanding) continue;
      if (n == ack.largest) {
        largest_newly_acked = true;
        largest_sent_at = p->sent_at;
      }
      eliciting_acked |= p->ack_eliciting;
      any_acked = true;
      acknowledge(*p, sink, out);
    }
  }
  if (!any_acked) return out;
  largest_acked_ = std::max(largest_acked_.value_or(0), ack.largest);
  // A packet sent on the old path, acknowledged on the new, measures neither.
  if (largest_newly_acked && eliciting_acked && largest_sent_at >= path_since_) {
    if (!rtt_.has_sample) first_sample_at_ = now;
    out.rtt = rtt_.sample(now - largest_sent_at, ack.delay_us);
  }
  if (eliciting_acked) {
    pto_count_ = 0;
    probes_owed_ = 0;
    heard_probe_armed_ = false;
  }
  detect_lost(now, sink, out);
  pop_settled();
  return out;
}

void StreamRecovery::detect_lost(uint64_t now, RecoverySink& sink, RecoveryOutcome& out) {
  loss_time_.reset();
  if (!largest_acked_) return;
  const uint64_t loss_delay = std::max(std::max(rtt_.latest, rtt_.smoothed) * 9 / 8, granularity_us);
  const uint64_t persistent = pto_base() * persistent_congestion_threshold;
  // The run of lost ack-eliciting packets with nothing acknowledged between.
  std::optional<uint64_t> run_start;
  for (size_t i = 0; i < sent_.size() && sent_[i].number <= *largest_acked_; ++i) {
    Sent& p = sent_[i];
    if (p.state == State::acked && p.ack_eliciting) run_start.reset();
    if (p.state != State::outstanding) continue;
    if (p.sent_at + loss_delay <= now || *largest_acked_ >= p.number + packet_threshold) {
      lose(p, sink, out);
      if (!p.ack_eliciting) continue;
      if (!run_start) run_start = p.sent_at;
      if (rtt_.has_sample && *run_start > first_sample_at_ && p.sent_at - *run_start > persistent)
        out.persistent_congestion = true;
    } else {
      loss_time_ = std::min(loss_time_.value_or(UINT64_MAX), p.sent_at + loss_delay);
    }
  }
}

void StreamRecovery::pop_settled() {
  while (!sent_.empty() && sent_.front().state != State::outstanding) {
    for (uint32_t i = 0; i < sent_.front().frame_count; ++i) {
      frames_.pop_front();
      ++frames_base_;
    }
    sent_.pop_front();
  }
}

std::optional<uint64_t> StreamRecovery::timer() const {
  if (loss_time_) return loss_time_;
  if (probes_owed_) return std::nullopt;  // the caller sends as soon as it can
  if (eliciting_in_flight_ == 0) return std::nullopt;
  const uint64_t base = pto_base();
  if (pto_count_ == 0) return last_eliciting_sent_ + base;
  // In a backoff the acks are known to be missing: probe at least every
  // probe_cap_us, even on a path whose PTO is longer, so that the first
  // probe after the link returns is never far behind.
  const uint64_t backoff = pto_count_ >= 20 ? UINT64_MAX : base << pto_count_;
  const uint64_t silent = last_eliciting_sent_ > last_heard_ ? last_eliciting_sent_ - last_heard_ : 0;
  const uint64_t cap = silent < long_silence_us ? probe_cap_us : long_probe_cap_us;
  return last_eliciting_sent_ + std::min(backoff, cap);
}

RecoveryOutcome StreamRecovery::on_timer(uint64_t now, RecoverySink& sink) {
  RecoveryOutcome out;
  out.in_flight_before = bytes_in_flight_;
  const auto due = timer();
  if (!due || now < *due) return out;
  if (loss_time_) {
    detect_lost(now, sink, out);
    pop_settled();
    return out;
  }
  ++pto_count_;
  probes_owed_ = 1;
  heard_probe_armed_ = true;
  sink.probe(pto_count_ == 1);
  return out;
}

RecoveryOutcome StreamRecovery::forget_excess(RecoverySink& sink) {
  RecoveryOutcome out;
  out.in_flight_before = bytes_in_flight_;
  while (sent_.size() > max_tracked_packets) {
    if (sent_.front().state == State::outstanding) lose(sent_.front(), sink, out);
    pop_settled();
  }
  return out;
}

void StreamRecovery::on_peer_heard(uint64_t now) {
  last_heard_ = now;
  if (heard_probe_armed_ && eliciting_in_flight_ > 0) {
    heard_probe_armed_ = false;
    probes_owed_ = std::max<uint32_t>(probes_owed_, 1);
  }
}

void StreamRecovery::on_path_change(uint64_t now, uint64_t initial_rtt) {
  rtt_.reset(initial_rtt);
  path_since_ = now;
  first_sample_at_ = 0;
  // Whatever is in flight went down the old path: probe the new one now.
  if (eliciting_in_flight_ > 0) probes_owed_ = std::max<uint32_t>(probes_owed_, 1);
}

}  // namespace roam
