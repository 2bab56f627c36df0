// A session's streams: who opens which ids (the low bit says which side, as
// in QUIC), the cap on concurrent streams each side may open, the
// connection-wide flow-control windows, which stream sends next (control
// frames, then lost data, then new data, round-robin between streams), and
// the events the application is told. Frames come in already decoded; frames
// go out through fill(), which writes them into a packet.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include "protocol/ring.h"
#include "protocol/stream.h"
#include "protocol/stream_config.h"
#include "protocol/stream_frames.h"
#include "protocol/stream_recovery.h"
#include "protocol/wire.h"

namespace roam {

// Which end we are: client-opened stream ids are even, server-opened odd.
enum class StreamRole : uint8_t { client = 0, server = 1 };

struct StreamEvent {
  enum class Kind : uint8_t {
    opened,    // the peer opened this stream; its first bytes (or its end) are readable
    readable,  // more bytes, or the end, can be read
    writable,  // write() fell short before; it takes bytes again
    reset,     // the peer reset the stream (code); both directions are over
    closed,    // both directions finished and acknowledged: the id is gone
    can_open,  // open() failed before; the peer now allows more streams
  };
  Kind kind = Kind::opened;
  uint64_t stream = 0;
  uint64_t code = 0;  // reset: the peer's code
};

// The frames one packet carried, for StreamRecovery.
struct FrameLog {
  static constexpr size_t capacity = 16;
  std::array<SentFrame, capacity> frames;
  size_t count = 0;
  bool full() const { return count == capacity; }
  void add(const SentFrame& f) { frames[count++] = f; }
  std::span<const SentFrame> items() const { return {frames.data(), count}; }
};

struct StreamSetCounters {
  uint64_t opened_local = 0;
  uint64_t opened_peer = 0;
  uint64_t closed = 0;
  uint64_t bytes_written = 0;        // taken from the application
  uint64_t bytes_sent = 0;           // stream data put in packets, first time
  uint64_t bytes_retransmitted = 0;  // ... and again
  uint64_t bytes_received = 0;       // stream data in accepted frames
  uint64_t bytes_read = 0;           // given to the application
  uint64_t stale_frames = 0;         // about streams already closed: ignored
};

class StreamSet {
 public:
  StreamSet(StreamRole role, const StreamConfig& config);

  // ---- the application ----
  std::optional<uint64_t> open();
  size_t write(uint64_t id, std::span<const uint8_t> data);
  uint64_t writable(uint64_t id) const;
  void finish(uint64_t id);
  void reset(uint64_t id, uint64_t code);
  size_t read(uint64_t id, std::span<uint8_t> out);
  std::span<const uint8_t> peek(uint64_t id) const;
  void consume(uint64_t id, size_t n);
  bool at_eof(uint64_t id) const;
  bool poll(StreamEvent& out);

  // ---- frames from the peer ----
  StreamError on_stream(const StreamFrame& f);
  StreamError on_reset(const ResetStreamFrame& f);
  StreamError on_max_stream_data(uint64_t id, uint64_t max);
  void on_max_data(uint64_t max);
  void on_max_streams(uint64_t max);

  // ---- what happened to frames we sent ----
  void on_frame_acked(const SentFrame& f);
  void on_frame_lost(const SentFrame& f);
  // A probe is due: each stream's first unacknowledged bytes go again.
  void on_probe(uint64_t max_bytes);

  // ---- frames to the peer ----
  bool wants_to_send() const;
  // How much written but unsent data one stream may hold: a couple of
  // congestion windows, as a TCP send buffer is sized, so writes wait for
  // the network instead of queueing the whole flow-control window.
  void set_unsent_limit(uint64_t bytes) { unsent_limit_ = std::max(bytes, min_unsent_limit); }
  // Appends frames to `out` while it stays within `limit` bytes.
  void fill(std::vector<uint8_t>& out, size_t limit, uint64_t now, uint64_t srtt, FrameLog& log);

  size_t open_streams() const { return streams_.size(); }
  uint64_t buffered_bytes() const;  // chunks held by all streams' buffers
  uint64_t pooled_bytes() const { return pool_.idle() * stream_chunk_size; }  // kept for reuse
  const StreamSetCounters& counters() const { return counters_; }
  const StreamConfig& config() const { return config_; }

  static constexpr uint64_t min_unsent_limit = 64 << 10;
  static constexpr uint64_t connection_reserve = 64 << 10;

 private:
  Stream* find(uint64_t id);
  const Stream* find(uint64_t id) const;
  Stream* for_frame(uint64_t id, StreamError& error);
  Stream& create(uint64_t id);
  bool is_local(uint64_t id) const { return (id & 1) == static_cast<uint64_t>(role_); }
  uint64_t connection_credit() const;
  uint64_t connection_share(const Stream& s) const;
  uint64_t credit(const Stream& s) const;  // what write() takes now
  void push(StreamEvent::Kind kind, uint64_t id, uint64_t code = 0);
  void notify_readable(Stream& s);
  void notify_writable(Stream& s);
  void notify_connection_writable();
  void queue_send(Stream& s);
  void queue_control(Stream& s);
  // Runs `change` on `s`, keeping the connection-level totals in step.
  template <class F>
  void account(Stream& s, F&& change);
  void maybe_close(uint64_t id);
  bool fill_control(wire::Writer& w, std::vector<uint8_t>& out, size_t limit, uint64_t now, uint64_t srtt,
                    FrameLog& log);
  void fill_data(wire::Writer& w, std::vector<uint8_t>& out, size_t limit, FrameLog& log);

  StreamRole role_;
  StreamConfig config_;
  ChunkPool pool_;
  std::unordered_map<uint64_t, std::unique_ptr<Stream>> streams_;

  uint64_t next_local_ = 0;  // index of our next stream
  uint64_t peer_allows_;     // the peer's MAX_STREAMS: our indexes below it
  uint64_t next_peer_ = 0;   // indexes below are opened (or were)
  uint64_t peer_closed_ = 0;
  uint64_t streams_granted_;  // our MAX_STREAMS
  bool streams_pending_ = false;
  bool open_blocked_ = false;

  // Sending, connection-wide.
  uint64_t peer_max_data_;
  uint64_t total_written_ = 0;
  uint64_t total_unacked_ = 0;
  bool connection_blocked_ = false;
  uint64_t unsent_limit_ = min_unsent_limit;

  // Receiving, connection-wide.
  uint64_t received_ = 0;  // sum of every stream's highest offset
  uint64_t consumed_ = 0;  // sum of every stream's credited bytes
  uint64_t data_granted_;  // our MAX_DATA
  uint64_t data_window_;
  std::optional<uint64_t> data_granted_at_;
  bool data_pending_ = false;

  Ring<uint64_t> send_queue_;
  Ring<uint64_t> control_queue_;
  Ring<uint64_t> blocked_;
  Ring<StreamEvent> events_;
  StreamSetCounters counters_;
};

}  // namespace roam
