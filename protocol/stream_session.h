// Reliable, ordered, flow-controlled byte streams over an attachment's
// encrypted datagrams, beside the state-sync transport (protocol/streams.md).
// Pure logic: the caller hands in packets that arrived and the time, and asks
// for packets to send; nothing here touches a socket or a clock.
//
// The caller's loop, after terminal datagrams (which always go first):
//   receive(packet, now) for each stream packet that arrived;
//   peer_heard(now) for any other authentic datagram (the terminal's too);
//   while (produce(now, room, out)) send out as one datagram;
//   drain poll() events; arm a timer for next_wakeup(now).
// Time is in microseconds on any monotonic clock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "protocol/datagram.h"
#include "protocol/result.h"
#include "protocol/stream_config.h"
#include "protocol/stream_set.h"

namespace roam {

// Room for a layer tag beside the stream packet in a datagram's payload.
inline constexpr size_t default_stream_packet_size = max_datagram_payload - 4;
// produce() builds nothing smaller: below this, control frames and a useful
// piece of data may not fit, so next_wakeup() assumes at least this much room.
inline constexpr size_t min_stream_packet = 128;

// Why a packet was dropped (unacknowledged, so an honest sender resends).
enum class StreamDrop : uint8_t {
  malformed,       // a frame did not decode
  bad_version,
  duplicate,       // a packet number seen before (or too old to tell)
  bad_ack,         // acknowledges a packet we never sent
  flow_control,    // data beyond a window we granted
  final_size,      // data after a stream's end, or an end that moved
  stream_limit,    // a stream beyond the concurrent-stream cap
  unknown_stream,  // a stream of ours we never opened
  too_fragmented,  // more out-of-order holes than a stream keeps
};
inline constexpr size_t stream_drop_kinds = 9;
const char* to_string(StreamDrop d);

struct StreamCounters {
  StreamSetCounters streams;
  uint64_t open_streams = 0;
  uint64_t buffered_bytes = 0;  // memory held by stream buffers
  uint64_t pooled_bytes = 0;    // ... and idle, kept for reuse (at most the peak in use)
  uint64_t packets_sent = 0;
  uint64_t packets_received = 0;
  uint64_t packets_lost = 0;
  uint64_t probes_sent = 0;
  uint64_t congestion_events = 0;
  std::array<uint64_t, stream_drop_kinds> drops{};
  uint64_t drops_total() const;
  // The path, as the congestion controller sees it.
  uint64_t srtt_us = 0;
  uint64_t min_rtt_us = 0;
  uint64_t queueing_delay_us = 0;
  uint64_t window_bytes = 0;
  uint64_t in_flight_bytes = 0;
  uint64_t tracked_packets = 0;  // sent packets remembered until acknowledged or lost
};

class StreamSession {
 public:
  explicit StreamSession(StreamRole role, const StreamConfig& config = {},
                         size_t packet_size = default_stream_packet_size);
  ~StreamSession();
  StreamSession(const StreamSession&) = delete;
  StreamSession& operator=(const StreamSession&) = delete;

  // ---- streams ----
  // A new stream of ours, or nothing while the peer's cap is reached (a
  // can_open event says when to try again).
  std::optional<uint64_t> open();
  // Takes what the windows allow now; less than offered means wait for a
  // writable event.
  size_t write(uint64_t id, std::span<const uint8_t> data);
  uint64_t writable(uint64_t id) const;
  // No more bytes from us on this stream (TCP's half-close).
  void finish(uint64_t id);
  // Abandons the stream both ways (TCP's reset); no more events for it.
  void reset(uint64_t id, uint64_t code);
  size_t read(uint64_t id, std::span<uint8_t> out);
  // Readable bytes in place (valid until the next call), then consume().
  std::span<const uint8_t> peek(uint64_t id) const;
  void consume(uint64_t id, size_t n);
  // Everything the peer sent was read (also true of a stream that is gone).
  bool at_eof(uint64_t id) const;
  bool poll(StreamEvent& event);

  // ---- the network ----
  Result<void, StreamDrop> receive(std::span<const uint8_t> packet, uint64_t now);
  // The next packet, at most max_size bytes (at least min_stream_packet),
  // into `out` (cleared first), if acknowledgements, probes, the congestion
  // window and the pacer allow one.
  bool produce(uint64_t now, size_t max_size, std::vector<uint8_t>& out);
  // When produce() should next be called, if anything is pending.
  std::optional<uint64_t> next_wakeup(uint64_t now) const;
  void peer_heard(uint64_t now);
  // The peer's address changed: the path may differ, so measure it afresh.
  void path_changed(uint64_t now);
  // A round-trip estimate to start from (the terminal layer's), in microseconds.
  void set_initial_rtt(uint64_t rtt_us);

  StreamCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roam
