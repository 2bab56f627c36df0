// The receiving half of loss recovery: which packet numbers arrived, when an
// acknowledgement is due, and the ACK frame that says so (RFC 9000 section
// 13.2). Acks are delayed a little so one ACK covers several packets, but go
// at once when a packet arrives out of order, so the sender learns of a loss
// within a round trip.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "protocol/range_set.h"
#include "protocol/wire.h"

namespace roam {

namespace stream_timing {
// Longest an ack-eliciting packet waits for its acknowledgement; both ends
// assume the other's, so it is part of the protocol.
inline constexpr uint64_t max_ack_delay_us = 5'000;
}  // namespace stream_timing

class AckTracker {
 public:
  // Ranges an ACK frame reports; older holes are reported by earlier ACKs.
  static constexpr size_t reported_ranges = 32;
  // Ranges remembered to recognise duplicates; below them, all is old.
  static constexpr size_t tracked_ranges = 128;

  // Whether `number` is neither a duplicate nor older than what is tracked.
  bool is_new(uint64_t number) const;
  // Records a packet that was accepted.
  void on_packet(uint64_t number, bool ack_eliciting, uint64_t now);

  // An ACK should go now, alone if need be.
  bool ack_due(uint64_t now) const;
  // Packets arrived that no ACK has reported yet: worth a frame in a packet
  // that goes anyway.
  bool has_unreported() const { return unreported_; }
  // When ack_due() becomes true by itself, if it will.
  std::optional<uint64_t> deadline() const;

  // Writes an ACK frame if one fits in `budget`; returns the largest number it
  // acknowledges, for on_ack_acked().
  std::optional<uint64_t> write_ack(wire::Writer& out, size_t budget, uint64_t now);
  // The peer has an ACK of ours acknowledging up to `largest`: numbers up to
  // there need not be reported again.
  void on_ack_acked(uint64_t largest);

  uint64_t largest() const { return received_.empty() ? 0 : received_.back().end - 1; }

 private:
  RangeSet received_{tracked_ranges};
  uint64_t floor_ = 0;  // numbers below are forgotten and count as duplicates
  uint64_t largest_at_ = 0;  // when the largest arrived, for the ACK's delay
  uint64_t eliciting_unacked_ = 0;
  uint64_t eliciting_total_ = 0;
  std::optional<uint64_t> timer_;
  bool immediate_ = false;
  bool unreported_ = false;
};

}  // namespace roam
