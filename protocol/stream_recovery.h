// The sending half of loss recovery, after RFC 9002: every packet sent is
// remembered with the frames it carried until it is acknowledged or declared
// lost (by the packet threshold, 3 newer packets acknowledged, or the time
// threshold, 9/8 of a round trip); its frames are then handed back to be
// forgotten or sent again. Round-trip time is measured from acknowledgements.
// When acknowledgements stop, probe timeouts send a packet anyway, backing off
// but never further apart than a short cap, so that after an outage the
// transfer resumes within about a round trip of the link coming back.
// Time is in microseconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "protocol/result.h"
#include "protocol/ring.h"
#include "protocol/stream_frames.h"

namespace roam {

namespace stream_timing {
inline constexpr uint64_t initial_rtt_us = 333'000;  // RFC 9002's kInitialRtt
inline constexpr uint64_t granularity_us = 1'000;
// Probes during an outage: at most this far apart for the first minute of
// silence, then at most a second apart. After the link returns, the next
// probe is acknowledged and what was lost goes again: the transfer moves
// within probe_cap_us and 1.5 round trips, within a round trip and 100 ms
// on paths up to 100 ms.
inline constexpr uint64_t probe_cap_us = 50'000;
inline constexpr uint64_t long_silence_us = 60'000'000;
inline constexpr uint64_t long_probe_cap_us = 1'000'000;
}  // namespace stream_timing

// Sent packets remembered at most (about 2 MB of records): a peer that never
// acknowledges cannot make us remember more; the oldest are then given up as
// lost. A 16 MiB window of full packets needs about 14,000.
inline constexpr size_t max_tracked_packets = 32768;

// What a packet carried that must be acted on when it is acknowledged or lost.
enum class SentKind : uint8_t { stream, reset_stream, max_stream_data, max_data, max_streams };

struct SentFrame {
  SentKind kind = SentKind::stream;
  bool fin = false;
  uint32_t length = 0;  // stream: bytes of data
  uint64_t stream = 0;  // stream id
  uint64_t offset = 0;  // stream: where the data starts
};

class RecoverySink {
 public:
  virtual void frame_acked(const SentFrame& f) = 0;
  virtual void frame_lost(const SentFrame& f) = 0;
  // The peer has our ACK frame that acknowledged up to `largest`.
  virtual void ack_acked(uint64_t largest) = 0;
  // A probe timeout: queue data to go in the probe; a full packet's worth
  // on the first timeout (a lost tail), a little on later ones (an outage:
  // the probe is there to be acknowledged once the link is back).
  virtual void probe(bool first) = 0;

 protected:
  ~RecoverySink() = default;
};

// RFC 9002 section 5.
struct RttStats {
  bool has_sample = false;
  uint64_t latest = 0;
  uint64_t min = 0;
  uint64_t smoothed = stream_timing::initial_rtt_us;
  uint64_t var = stream_timing::initial_rtt_us / 2;

  // Returns the sample less the peer's ack delay where that is plausible.
  uint64_t sample(uint64_t rtt, uint64_t ack_delay);
  void reset(uint64_t initial);
};

// What an acknowledgement or a timer did, for the congestion controller.
struct RecoveryOutcome {
  uint64_t acked_bytes = 0;  // in-flight bytes newly acknowledged
  uint64_t acked_packets = 0;
  std::optional<uint64_t> rtt;  // a new sample, ack delay removed
  uint64_t lost_bytes = 0;
  uint64_t lost_packets = 0;
  uint64_t largest_lost_sent_at = 0;
  bool persistent_congestion = false;
  uint64_t in_flight_before = 0;
};

class StreamRecovery {
 public:
  uint64_t next_number() const { return next_number_; }
  // Records the packet numbered next_number(), then advances it.
  void on_sent(uint64_t now, uint32_t bytes, bool ack_eliciting, std::optional<uint64_t> ack_largest,
               std::span<const SentFrame> frames);

  // Fails, changing nothing, for an ACK of a number never sent.
  Result<RecoveryOutcome> on_ack(const AckFrame& ack, uint64_t now, RecoverySink& sink);
  // When on_timer() should run: a loss deadline or a probe timeout.
  std::optional<uint64_t> timer() const;
  RecoveryOutcome on_timer(uint64_t now, RecoverySink& sink);
  // Gives up the oldest packets beyond max_tracked_packets as lost.
  RecoveryOutcome forget_excess(RecoverySink& sink);

  // A probe is owed: send one ack-eliciting packet, whatever the window says.
  bool probe_due() const { return probes_owed_ > 0; }
  void on_probe_sent() {
    if (probes_owed_) --probes_owed_;
  }
  // Anything authentic arrived from the peer. In a probe backoff, the link
  // is evidently back: probe now rather than at the next timeout.
  void on_peer_heard(uint64_t now);
  // The path changed (the peer roamed): measure the round trip afresh.
  void on_path_change(uint64_t now, uint64_t initial_rtt);
  // Until the first sample, use this round trip (e.g. the terminal layer's).
  void set_initial_rtt(uint64_t rtt);

  const RttStats& rtt() const { return rtt_; }
  uint64_t bytes_in_flight() const { return bytes_in_flight_; }
  uint32_t pto_count() const { return pto_count_; }
  size_t tracked_packets() const { return sent_.size(); }
  uint64_t pto_base() const;

 private:
  enum class State : uint8_t { outstanding, acked, lost };
  struct Sent {
    uint64_t number = 0;
    uint64_t sent_at = 0;
    uint32_t bytes = 0;
    bool ack_eliciting = false;
    State state = State::outstanding;
    bool has_ack = false;
    uint64_t ack_largest = 0;
    uint64_t first_frame = 0;  // absolute index into frames_
    uint32_t frame_count = 0;
  };

  Sent* find(uint64_t number);
  void acknowledge(Sent& p, RecoverySink& sink, RecoveryOutcome& out);
  void lose(Sent& p, RecoverySink& sink, RecoveryOutcome& out);
  void detect_lost(uint64_t now, RecoverySink& sink, RecoveryOutcome& out);
  void pop_settled();
  template <class F>
  void each_frame(const Sent& p, F&& f) const {
    for (uint32_t i = 0; i < p.frame_count; ++i) f(frames_[static_cast<size_t>(p.first_frame - frames_base_) + i]);
  }

  Ring<Sent> sent_;  // by number, from sent_.front().number on
  Ring<SentFrame> frames_;
  uint64_t frames_base_ = 0;  // absolute index of frames_[0]
  uint64_t next_number_ = 0;
  std::optional<uint64_t> largest_acked_;
  uint64_t bytes_in_flight_ = 0;
  uint64_t eliciting_in_flight_ = 0;
  uint64_t last_eliciting_sent_ = 0;
  std::optional<uint64_t> loss_time_;
  uint64_t first_sample_at_ = 0;
  uint64_t path_since_ = 0;  // packets sent before went by another path
  uint64_t last_heard_ = 0;
  uint32_t pto_count_ = 0;
  uint32_t probes_owed_ = 0;
  bool heard_probe_armed_ = false;
  RttStats rtt_;
};

}  // namespace roam
