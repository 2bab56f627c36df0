#include "protocol/stream_acks.h"

#include <algorithm>

#include "protocol/stream_frames.h"

namespace roam {

namespace {

// Ack every second ack-eliciting packet at first (quick feedback while the
// sender's window opens), then every eighth: at hundreds of megabytes a second
// an ACK per two packets would cost the event loop as much as the data.
constexpr uint64_t early_packets = 100;
constexpr uint64_t early_threshold = 2;
constexpr uint64_t steady_threshold = 8;

}  // namespace

bool AckTracker::is_new(uint64_t number) const { return number >= floor_ && !received_.contains(number); }

void AckTracker::on_packet(uint64_t number, bool ack_eliciting, uint64_t now) {
  const bool had_any = !received_.empty();
  const uint64_t old_largest = largest();
  while (!received_.add(number, number + 1)) {
    // Too many holes: forget the oldest range. Anything below it now counts
    // as a duplicate; its data, if any, is sent again under a new number.
    floor_ = received_.front().end;
    received_.pop_front();
  }
  const bool newest = !had_any || number > old_largest;
  if (newest) largest_at_ = now;
  unreported_ = true;
  if (!ack_eliciting) return;
  // A gap before this packet, or a late one filling a gap: likely a loss the
  // sender should hear about at once.
  if (had_any && (number != old_largest + 1)) immediate_ = true;
  ++eliciting_total_;
  ++eliciting_unacked_;
  if (!timer_) timer_ = now + stream_timing::max_ack_delay_us;
}

bool AckTracker::ack_due(uint64_t now) const {
  if (eliciting_unacked_ == 0) return false;
  const uint64_t threshold = eliciting_total_ <= early_packets ? early_threshold : steady_threshold;
  return immediate_ || eliciting_unacked_ >= threshold || (timer_ && now >= *timer_);
}

std::optional<uint64_t> AckTracker::deadline() const {
  if (eliciting_unacked_ == 0) return std::nullopt;
  return timer_;
}

std::optional<uint64_t> AckTracker::write_ack(wire::Writer& out, size_t budget, uint64_t now) {
  if (received_.empty()) return std::nullopt;
  std::array<Range, reported_ranges> ranges;
  const uint64_t delay = now - largest_at_;
  size_t n = 0;
  const auto all = received_.ranges();
  for (size_t i = all.size(); i > 0 && n < ranges.size(); --i) {
    ranges[n] = all[i - 1];
    if (ack_size(delay, std::span(ranges.data(), n + 1)) > budget) break;
    ++n;
  }
  if (n == 0) return std::nullopt;
  encode_ack(out, delay, std::span(ranges.data(), n));
  eliciting_unacked_ = 0;
  timer_.reset();
  immediate_ = false;
  unreported_ = false;
  return ranges[0].end - 1;
}

void AckTracker::on_ack_acked(uint64_t largest) {
  // Keep the newest range, so duplicates of recent packets are still known.
  const uint64_t below = std::min(largest + 1, received_.empty() ? 0 : received_.back().begin);
  if (below <= floor_) return;
  floor_ = below;
  received_.remove_below(below);
}

}  // namespace roam
