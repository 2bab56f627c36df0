// One bidirectional byte stream: what we send (a buffer of written bytes kept
// until acknowledged, with what was lost to send again) and what we receive
// (reassembly of out-of-order pieces, the flow-control window we grant). The
// rules are RFC 9000's sections 2-4; StreamSet holds the streams and the
// connection-wide limits, and decides when a stream is finished with.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "protocol/range_set.h"
#include "protocol/stream_buffer.h"
#include "protocol/stream_config.h"

namespace roam {

// Why a frame about a stream was refused; the packet that carried it is
// dropped unacknowledged (the sender, if honest, sends it again).
enum class StreamError : uint8_t {
  none,
  flow_control,    // data beyond the window we granted
  final_size,      // data after the end, or an end that moved
  stream_limit,    // a stream beyond the number we allow the peer
  unknown_stream,  // one of our stream ids we never opened
  too_fragmented,  // more holes than we keep track of
};

// A piece of stream data to put in a frame.
struct StreamChunk {
  uint64_t offset = 0;
  size_t length = 0;
  bool fin = false;
  bool again = false;  // sent before
};

class Stream {
 public:
  Stream(uint64_t id, const StreamConfig& config, ChunkPool& pool);

  uint64_t id() const { return id_; }

  // ---- sending ----
  // Bytes write() would take now, by the stream's own limits.
  uint64_t send_credit(const StreamConfig& config) const;
  void write(std::span<const uint8_t> data);
  void finish() { fin_written_ = true; }
  // Gives up the sending direction: the RESET_STREAM frame is owed.
  void reset_sending(uint64_t code);
  bool has_send_work() const;
  // The next piece to send, at most `max` bytes: lost data first, then new.
  // A piece of length 0 carries only the FIN.
  std::optional<StreamChunk> next_chunk(size_t max);
  std::span<const uint8_t> send_view(uint64_t offset, size_t max) const { return send_.view(offset, max); }
  void on_acked(uint64_t offset, uint64_t length, bool fin);
  void on_lost(uint64_t offset, uint64_t length, bool fin);
  // Queues the first unacknowledged bytes (at most `max`) to send again: what
  // the receiver is stuck on after an outage swallowed everything in flight.
  void probe(uint64_t max);
  void raise_peer_limit(uint64_t max) { peer_max_ = std::max(peer_max_, max); }
  bool send_done() const;

  uint64_t written() const { return written_; }
  uint64_t sent() const { return sent_; }
  uint64_t unacked() const { return reset_out_ ? 0 : written_ - acked_low_; }
  bool fin_written() const { return fin_written_; }
  bool reset_out() const { return reset_out_; }
  uint64_t reset_out_code() const { return reset_out_code_; }
  bool reset_out_pending = false;  // the RESET_STREAM frame is still to go
  bool reset_out_acked = false;
  bool write_blocked = false;      // write() fell short: owe a writable event

  // ---- receiving ----
  // Checks a STREAM frame against the stream's limits; returns how far it
  // moves the highest offset received (what it costs the connection window).
  StreamError check_data(uint64_t offset, size_t length, bool fin, uint64_t& growth) const;
  // Stores a checked frame. Fails only with too_fragmented, changing nothing.
  StreamError accept_data(uint64_t offset, std::span<const uint8_t> data, bool fin);
  // The peer gave up its direction at `final_size`; returns the growth as check_data.
  StreamError check_reset(uint64_t final_size, uint64_t& growth) const;
  void accept_reset(uint64_t final_size, uint64_t code);
  // Stop keeping what arrives (we reset): only the final size still matters.
  void discard_incoming();

  uint64_t readable() const;
  std::span<const uint8_t> peek() const;
  void consume(uint64_t n);
  bool at_eof() const { return final_size_ && read_ == *final_size_; }
  bool final_known() const { return final_size_.has_value(); }
  bool recv_done() const;
  // Bytes of this stream the connection window may count as consumed.
  uint64_t credited() const { return discarding_ ? highest_ : read_; }

  // Flow-control updates we grant (MAX_STREAM_DATA): whether one is due
  // and, when sending one, the new limit (doubling the window when the
  // previous one was used up within two round trips, up to the maximum).
  bool wants_window_update() const;
  uint64_t grant(uint64_t now, uint64_t srtt, const StreamConfig& config);
  uint64_t granted() const { return max_granted_; }

  bool peer_reset() const { return peer_reset_; }
  uint64_t peer_reset_code() const { return peer_reset_code_; }
  bool discarding() const { return discarding_; }
  uint64_t buffered() const { return send_.bytes_held() + recv_.bytes_held(); }

  // StreamSet's bookkeeping.
  bool announced = false;         // the application knows this stream
  bool in_send_queue = false;
  bool in_control_queue = false;
  bool update_pending = false;    // a MAX_STREAM_DATA frame is owed
  bool readable_queued = false;   // events not yet taken
  bool writable_queued = false;
  bool in_blocked_list = false;   // waiting for connection-wide credit

 private:
  uint64_t id_;

  ByteBuffer send_;
  uint64_t written_ = 0;    // end of what the application wrote
  uint64_t sent_ = 0;       // new data starts here
  uint64_t acked_low_ = 0;  // everything below is acknowledged
  RangeSet acked_;          // acknowledged pieces above acked_low_
  RangeSet lost_;           // to send again
  uint64_t peer_max_;       // the peer's MAX_STREAM_DATA
  bool fin_written_ = false, fin_sent_ = false, fin_acked_ = false, fin_lost_ = false;
  bool reset_out_ = false;
  uint64_t reset_out_code_ = 0;

  ByteBuffer recv_;
  RangeSet received_;       // pieces at or above read_
  uint64_t read_ = 0;       // the application has consumed up to here
  uint64_t highest_ = 0;    // the highest offset any frame reached
  std::optional<uint64_t> final_size_;
  uint64_t max_granted_;    // our MAX_STREAM_DATA
  uint64_t window_;
  std::optional<uint64_t> granted_at_;
  bool discarding_ = false;
  bool peer_reset_ = false;
  uint64_t peer_reset_code_ = 0;
};

}  // namespace roam
