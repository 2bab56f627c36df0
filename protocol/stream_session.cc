#include "protocol/stream_session.h"

#include <algorithm>
#include <utility>

#include "protocol/ledbat.h"
#include "protocol/stream_acks.h"
#include "protocol/stream_frames.h"
#include "protocol/stream_recovery.h"

namespace roam {

namespace {

StreamDrop drop_for(StreamError e) {
  switch (e) {
    case StreamError::flow_control: return StreamDrop::flow_control;
    case StreamError::final_size: return StreamDrop::final_size;
    case StreamError::stream_limit: return StreamDrop::stream_limit;
    case StreamError::unknown_stream: return StreamDrop::unknown_stream;
    case StreamError::too_fragmented: return StreamDrop::too_fragmented;
    case StreamError::none: break;
  }
  return StreamDrop::malformed;
}


// Data in each probe after the first of a backoff.
constexpr size_t small_probe = 256;

}  // namespace

const char* to_string(StreamDrop d) {
  switch (d) {
    case StreamDrop::malformed: return "malformed";
    case StreamDrop::bad_version: return "bad_version";
    case StreamDrop::duplicate: return "duplicate";
    case StreamDrop::bad_ack: return "bad_ack";
    case StreamDrop::flow_control: return "flow_control";
    case StreamDrop::final_size: return "final_size";
    case StreamDrop::stream_limit: return "stream_limit";
    case StreamDrop::unknown_stream: return "unknown_stream";
    case StreamDrop::too_fragmented: return "too_fragmented";
  }
  return "unknown";
}

uint64_t StreamCounters::drops_total() const {
  uint64_t n = 0;
  for (uint64_t d : drops) n += d;
  return n;
}

struct StreamSession::Impl final : RecoverySink {
  Impl(StreamRole role, const StreamConfig& config, size_t packet_size)
      : streams(role, config), congestion(packet_size), packet_size(packet_size) {}

  void frame_acked(const SentFrame& f) override { streams.on_frame_acked(f); }
  void frame_lost(const SentFrame& f) override { streams.on_frame_lost(f); }
  void ack_acked(uint64_t largest) override { acks.on_ack_acked(largest); }
  void probe(bool first) override { streams.on_probe(first ? packet_size : small_probe); }

  Result<void, StreamDrop> drop(StreamDrop d) {
    ++counters.drops[static_cast<size_t>(d)];
    return fail(d);
  }
  void outcome(uint64_t now, const RecoveryOutcome& out) {
    counters.packets_lost += out.lost_packets;
    congestion.on_outcome(now, out, recovery.rtt());
    streams.set_unsent_limit(2 * congestion.window());
  }
  Result<void, StreamDrop> apply(const Frame& f, uint64_t now, bool& eliciting);
  void run_timers(uint64_t now);
  bool may_send_data(uint64_t now) const {
    return streams.wants_to_send() && congestion.window_allows(recovery.bytes_in_flight()) &&
           congestion.pacer_allows(now);
  }

  StreamSet streams;
  AckTracker acks;
  StreamRecovery recovery;
  Ledbat congestion;
  size_t packet_size;
  uint64_t initial_rtt = stream_timing::initial_rtt_us;
  StreamCounters counters;
};

Result<void, StreamDrop> StreamSession::Impl::apply(const Frame& f, uint64_t now, bool& eliciting) {
  StreamError e = StreamError::none;
  switch (f.type) {
    case FrameType::padding: return {};
    case FrameType::ping: eliciting = true; return {};
    case FrameType::ack: {
      auto out = recovery.on_ack(f.ack, now, *this);
      if (!out) return drop(StreamDrop::bad_ack);
      outcome(now, *out);
      return {};
    }
    case FrameType::stream: e = streams.on_stream(f.stream); break;
    case FrameType::reset_stream: e = streams.on_reset(f.reset); break;
    case FrameType::max_data: streams.on_max_data(f.value); break;
    case FrameType::max_stream_data: e = streams.on_max_stream_data(f.id, f.value); break;
    case FrameType::max_streams: streams.on_max_streams(f.value); break;
  }
  eliciting = true;
  if (e != StreamError::none) return drop(drop_for(e));
  return {};
}

void StreamSession::Impl::run_timers(uint64_t now) {
  const auto due = recovery.timer();
  if (due && now >= *due) outcome(now, recovery.on_timer(now, *this));
  if (recovery.tracked_packets() > max_tracked_packets) outcome(now, recovery.forget_excess(*this));
}

StreamSession::StreamSession(StreamRole role, const StreamConfig& config, size_t packet_size)
    : impl_(std::make_unique<Impl>(role, config, packet_size)) {}

StreamSession::~StreamSession() = default;

std::optional<uint64_t> StreamSession::open() { return impl_->streams.open(); }
size_t StreamSession::write(uint64_t id, std::span<const uint8_t> data) { return impl_->streams.write(id, data); }
uint64_t StreamSession::writable(uint64_t id) const { return impl_->streams.writable(id); }
void StreamSession::finish(uint64_t id) { impl_->streams.finish(id); }
void StreamSession::reset(uint64_t id, uint64_t code) { impl_->streams.reset(id, code); }
size_t StreamSession::read(uint64_t id, std::span<uint8_t> out) { return impl_->streams.read(id, out); }
std::span<const uint8_t> StreamSession::peek(uint64_t id) const { return impl_->streams.peek(id); }
void StreamSession::consume(uint64_t id, size_t n) { impl_->streams.consume(id, n); }
bool StreamSession::at_eof(uint64_t id) const { return impl_->streams.at_eof(id); }
bool StreamSession::poll(StreamEvent& event) { return impl_->streams.poll(event); }

Result<void, StreamDrop> StreamSession::receive(std::span<const uint8_t> packet, uint64_t now) {
  Impl& m = *impl_;
  wire::Reader in(packet);
  auto header = decode_packet_header(in);
  if (!header) return m.drop(header.error() == Errc::bad_version ? StreamDrop::bad_version : StreamDrop::malformed);
  if (in.remaining() == 0) return m.drop(StreamDrop::malformed);  // no frame at all
  // Decode everything before acting on anything: a malformed packet changes nothing.
  {
    wire::Reader scan = in;
    bool ack_seen = false;
    while (scan.remaining() > 0) {
      auto f = decode_frame(scan);
      if (!f || (f->type == FrameType::ack && std::exchange(ack_seen, true))) return m.drop(StreamDrop::malformed);
    }
  }
  if (!m.acks.is_new(header->number)) return m.drop(StreamDrop::duplicate);
  m.recovery.on_peer_heard(now);
  bool eliciting = false;
  while (in.remaining() > 0) {
    if (auto ok = m.apply(*decode_frame(in), now, eliciting); !ok) return ok;
  }
  m.acks.on_packet(header->number, eliciting, now);
  ++m.counters.packets_received;
  return {};
}

bool StreamSession::produce(uint64_t now, size_t max_size, std::vector<uint8_t>& out) {
  Impl& m = *impl_;
  out.clear();
  if (max_size < min_stream_packet) return false;
  m.run_timers(now);
  const bool probe = m.recovery.probe_due();
  // Deep in a backoff the link is probably down: keep probes small.
  if (probe && m.recovery.pto_count() > 1) max_size = std::min(max_size, small_probe + 64);
  const bool data = probe || m.may_send_data(now);
  if (!data && !m.acks.ack_due(now)) return false;

  wire::Writer w(out);
  encode_packet_header(w, m.recovery.next_number());
  FrameLog log;
  if (data) {
    // Keep room for the ACK frame that goes with it.
    const size_t ack_room = m.acks.has_unreported() ? std::min<size_t>(max_size / 4, 160) : 0;
    m.streams.fill(out, max_size - ack_room, now, m.recovery.rtt().smoothed, log);
  }
  bool eliciting = log.count > 0;
  if (!eliciting && probe) {
    encode_ping(w);
    eliciting = true;
  }
  if (!eliciting && !m.acks.ack_due(now)) {
    out.clear();
    return false;
  }
  std::optional<uint64_t> ack_largest;
  if (m.acks.has_unreported()) ack_largest = m.acks.write_ack(w, max_size - out.size(), now);
  if (!eliciting && !ack_largest) {
    out.clear();
    return false;
  }
  m.recovery.on_sent(now, static_cast<uint32_t>(out.size()), eliciting, ack_largest, log.items());
  if (eliciting) m.congestion.on_sent(now, out.size());
  if (probe) {
    m.recovery.on_probe_sent();
    ++m.counters.probes_sent;
  }
  ++m.counters.packets_sent;
  return true;
}

std::optional<uint64_t> StreamSession::next_wakeup(uint64_t now) const {
  const Impl& m = *impl_;
  if (m.recovery.probe_due() || m.acks.ack_due(now)) return now;
  std::optional<uint64_t> at = m.recovery.timer();
  auto earliest = [&](std::optional<uint64_t> t) {
    if (t && (!at || *t < *at)) at = t;
  };
  earliest(m.acks.deadline());
  if (m.streams.wants_to_send() && m.congestion.window_allows(m.recovery.bytes_in_flight()))
    earliest(m.congestion.next_send_time(now));
  if (at) at = std::max(*at, now);
  return at;
}

void StreamSession::peer_heard(uint64_t now) { impl_->recovery.on_peer_heard(now); }

void StreamSession::path_changed(uint64_t now) {
  impl_->recovery.on_path_change(now, impl_->initial_rtt);
  impl_->congestion.on_path_change();
}

void StreamSession::set_initial_rtt(uint64_t rtt_us) {
  if (rtt_us == 0) return;
  impl_->initial_rtt = rtt_us;
  impl_->recovery.set_initial_rtt(rtt_us);
}

StreamCounters StreamSession::counters() const {
  const Impl& m = *impl_;
  StreamCounters c = m.counters;
  c.streams = m.streams.counters();
  c.open_streams = m.streams.open_streams();
  c.buffered_bytes = m.streams.buffered_bytes();
  c.pooled_bytes = m.streams.pooled_bytes();
  c.congestion_events = m.congestion.congestion_events();
  c.srtt_us = m.recovery.rtt().smoothed;
  c.min_rtt_us = m.recovery.rtt().min;
  c.queueing_delay_us = m.congestion.queueing_delay();
  c.window_bytes = m.congestion.window();
  c.in_flight_bytes = m.recovery.bytes_in_flight();
  c.tracked_packets = m.recovery.tracked_packets();
  return c;
}

}  // namespace roam
