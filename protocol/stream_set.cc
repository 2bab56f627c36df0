#include "protocol/stream_set.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace roam {

namespace {

// Worst-case sizes of the small frames, to check for room before writing.
constexpr size_t small_frame_room = 1 + 10;
constexpr size_t control_frames_room = (1 + 3 * 10) + (1 + 2 * 10);

}  // namespace

StreamSet::StreamSet(StreamRole role, const StreamConfig& config)
    : role_(role),
      config_(config),
      peer_allows_(config.initial_max_streams),
      streams_granted_(config.initial_max_streams),
      peer_max_data_(config.initial_connection_window),
      data_granted_(config.initial_connection_window),
      data_window_(config.initial_connection_window) {}

Stream* StreamSet::find(uint64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

const Stream* StreamSet::find(uint64_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

Stream& StreamSet::create(uint64_t id) {
  auto [it, inserted] = streams_.emplace(id, std::make_unique<Stream>(id, config_, pool_));
  assert(inserted);
  return *it->second;
}

template <class F>
void StreamSet::account(Stream& s, F&& change) {
  const uint64_t credited = s.credited(), unacked = s.unacked();
  change();
  consumed_ += s.credited() - credited;
  total_unacked_ = total_unacked_ - unacked + s.unacked();
  if (data_granted_ - consumed_ < data_window_ / 2) data_pending_ = true;
}

uint64_t StreamSet::connection_credit() const {
  const uint64_t by_peer = peer_max_data_ - total_written_;
  const uint64_t by_memory =
      config_.max_connection_window > total_unacked_ ? config_.max_connection_window - total_unacked_ : 0;
  return std::min(by_peer, by_memory);
}

uint64_t StreamSet::connection_share(const Stream& s) const {
  const uint64_t credit = connection_credit();
  // The last of the connection's credit is for streams holding little, so a
  // bulk stream cannot starve a keystroke in another.
  if (s.unacked() < connection_reserve) return credit;
  return credit > connection_reserve ? credit - connection_reserve : 0;
}

uint64_t StreamSet::credit(const Stream& s) const {
  const uint64_t unsent = s.written() - s.sent();
  const uint64_t by_backlog = unsent_limit_ > unsent ? unsent_limit_ - unsent : 0;
  return std::min({s.send_credit(config_), connection_share(s), by_backlog});
}

uint64_t StreamSet::buffered_bytes() const { return pool_.in_use() * stream_chunk_size; }

// ---- the application ----

std::optional<uint64_t> StreamSet::open() {
  if (next_local_ >= peer_allows_) {
    open_blocked_ = true;
    return std::nullopt;
  }
  const uint64_t id = (next_local_++ << 1) | static_cast<uint64_t>(role_);
  create(id).announced = true;
  ++counters_.opened_local;
  return id;
}

size_t StreamSet::write(uint64_t id, std::span<const uint8_t> data) {
  Stream* s = find(id);
  if (!s || data.empty()) return 0;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), credit(*s)));
  if (n < data.size() && !s->reset_out() && !s->fin_written()) {
    s->write_blocked = true;
    if (connection_share(*s) <= s->send_credit(config_) && !s->in_blocked_list) {
      connection_blocked_ = true;
      s->in_blocked_list = true;
      blocked_.push_back(id);
    }
  }
  if (n == 0) return 0;
  account(*s, [&] { s->write(data.first(n)); });
  total_written_ += n;
  counters_.bytes_written += n;
  queue_send(*s);
  return n;
}

uint64_t StreamSet::writable(uint64_t id) const {
  const Stream* s = find(id);
  return s ? credit(*s) : 0;
}

void StreamSet::finish(uint64_t id) {
  Stream* s = find(id);
  if (!s || s->reset_out() || s->fin_written()) return;
  s->finish();
  queue_send(*s);
}

void StreamSet::reset(uint64_t id, uint64_t code) {
  Stream* s = find(id);
  if (!s) return;
  account(*s, [&] {
    s->reset_sending(code);
    s->discard_incoming();
  });
  s->announced = false;  // the application is done with it: no more events
  if (s->reset_out_pending) queue_control(*s);
  maybe_close(id);
}

std::span<const uint8_t> StreamSet::peek(uint64_t id) const {
  const Stream* s = find(id);
  return s ? s->peek() : std::span<const uint8_t>{};
}

void StreamSet::consume(uint64_t id, size_t n) {
  Stream* s = find(id);
  if (!s || n == 0) return;
  const uint64_t before = s->credited();
  account(*s, [&] { s->consume(n); });
  counters_.bytes_read += s->credited() - before;
  if (s->wants_window_update() && !s->update_pending) {
    s->update_pending = true;
    queue_control(*s);
  }
  maybe_close(id);
}

size_t StreamSet::read(uint64_t id, std::span<uint8_t> out) {
  size_t n = 0;
  while (n < out.size()) {
    const auto piece = peek(id);
    if (piece.empty()) break;
    const size_t k = std::min(piece.size(), out.size() - n);
    std::memcpy(out.data() + n, piece.data(), k);
    n += k;
    consume(id, k);
  }
  return n;
}

bool StreamSet::at_eof(uint64_t id) const {
  const Stream* s = find(id);
  return !s || s->at_eof();
}

bool StreamSet::poll(StreamEvent& out) {
  if (events_.empty()) return false;
  out = events_.front();
  events_.pop_front();
  if (Stream* s = find(out.stream)) {
    if (out.kind == StreamEvent::Kind::readable || out.kind == StreamEvent::Kind::opened) s->readable_queued = false;
    if (out.kind == StreamEvent::Kind::writable) s->writable_queued = false;
  }
  return true;
}

// ---- events and queues ----

void StreamSet::push(StreamEvent::Kind kind, uint64_t id, uint64_t code) { events_.push_back({kind, id, code}); }

void StreamSet::notify_readable(Stream& s) {
  if (s.discarding()) return;
  if (!s.announced) {
    if (is_local(s.id()) || (s.readable() == 0 && !s.at_eof())) return;
    s.announced = true;
    s.readable_queued = true;
    push(StreamEvent::Kind::opened, s.id());
    return;
  }
  if (s.readable_queued) return;
  s.readable_queued = true;
  push(StreamEvent::Kind::readable, s.id());
}

void StreamSet::notify_writable(Stream& s) {
  if (!s.write_blocked || credit(s) == 0) return;
  s.write_blocked = false;
  if (!s.announced || s.writable_queued) return;
  s.writable_queued = true;
  push(StreamEvent::Kind::writable, s.id());
}

void StreamSet::notify_connection_writable() {
  if (!connection_blocked_ || connection_credit() == 0) return;
  for (size_t n = blocked_.size(); n > 0; --n) {
    const uint64_t id = blocked_.front();
    blocked_.pop_front();
    Stream* s = find(id);
    if (!s) continue;
    notify_writable(*s);
    // Still held back by the connection (its reserve, say): keep waiting for
    // the next MAX_DATA. Held back by its own limits: those wake it.
    if (s->write_blocked && connection_share(*s) == 0) blocked_.push_back(id);
    else s->in_blocked_list = false;
  }
  connection_blocked_ = !blocked_.empty();
}

void StreamSet::queue_send(Stream& s) {
  if (s.in_send_queue || !s.has_send_work()) return;
  s.in_send_queue = true;
  send_queue_.push_back(s.id());
}

void StreamSet::queue_control(Stream& s) {
  if (s.in_control_queue) return;
  s.in_control_queue = true;
  control_queue_.push_back(s.id());
}

void StreamSet::maybe_close(uint64_t id) {
  Stream* s = find(id);
  if (!s || !s->send_done() || !s->recv_done() || s->reset_out_pending) return;
  if (s->announced) push(StreamEvent::Kind::closed, id);
  total_unacked_ -= s->unacked();
  if (!is_local(id)) {
    ++peer_closed_;
    // Let the peer open as many as it closed; in batches, not one frame each.
    const uint64_t batch = std::max<uint64_t>(1, config_.initial_max_streams / 8);
    if (peer_closed_ + config_.initial_max_streams >= streams_granted_ + batch) streams_pending_ = true;
  }
  ++counters_.closed;
  streams_.erase(id);
  pool_.trim();
}

// ---- frames from the peer ----

Stream* StreamSet::for_frame(uint64_t id, StreamError& error) {
  const uint64_t index = id >> 1;
  if (is_local(id)) {
    if (index >= next_local_) error = StreamError::unknown_stream;
    return find(id);
  }
  if (index >= streams_granted_) {
    error = StreamError::stream_limit;
    return nullptr;
  }
  // A frame for stream n opens every peer stream below n too (RFC 9000 3.2),
  // all within the cap just checked.
  for (; next_peer_ <= index; ++next_peer_) {
    create((next_peer_ << 1) | (static_cast<uint64_t>(role_) ^ 1));
    ++counters_.opened_peer;
  }
  return find(id);
}

StreamError StreamSet::on_stream(const StreamFrame& f) {
  StreamError error = StreamError::none;
  Stream* s = for_frame(f.id, error);
  if (!s) {
    if (error == StreamError::none) ++counters_.stale_frames;
    return error;
  }
  uint64_t growth = 0;
  if (auto e = s->check_data(f.offset, f.data.size(), f.fin, growth); e != StreamError::none) return e;
  if (received_ + growth > data_granted_) return StreamError::flow_control;
  const uint64_t readable = s->readable();
  const bool eof = s->at_eof();
  account(*s, [&] { error = s->accept_data(f.offset, f.data, f.fin); });
  if (error != StreamError::none) return error;
  received_ += growth;
  counters_.bytes_received += f.data.size();
  if (s->readable() > readable || (s->at_eof() && !eof)) notify_readable(*s);
  maybe_close(f.id);
  return StreamError::none;
}

StreamError StreamSet::on_reset(const ResetStreamFrame& f) {
  StreamError error = StreamError::none;
  Stream* s = for_frame(f.id, error);
  if (!s) {
    if (error == StreamError::none) ++counters_.stale_frames;
    return error;
  }
  uint64_t growth = 0;
  if (auto e = s->check_reset(f.final_size, growth); e != StreamError::none) return e;
  if (received_ + growth > data_granted_) return StreamError::flow_control;
  const bool first = !s->peer_reset();
  account(*s, [&] {
    s->accept_reset(f.final_size, f.code);
    // The peer is gone from this stream both ways: stop sending and say where
    // our direction ended (RFC 9000's STOP_SENDING, folded into the reset).
    if (!s->send_done()) s->reset_sending(f.code);
  });
  received_ += growth;
  if (s->reset_out_pending) queue_control(*s);
  if (first && s->announced) push(StreamEvent::Kind::reset, f.id, f.code);
  maybe_close(f.id);
  return StreamError::none;
}

StreamError StreamSet::on_max_stream_data(uint64_t id, uint64_t max) {
  StreamError error = StreamError::none;
  Stream* s = for_frame(id, error);
  if (!s) {
    if (error == StreamError::none) ++counters_.stale_frames;
    return error;
  }
  s->raise_peer_limit(max);
  notify_writable(*s);
  return StreamError::none;
}

void StreamSet::on_max_data(uint64_t max) {
  if (max <= peer_max_data_) return;
  peer_max_data_ = max;
  notify_connection_writable();
}

void StreamSet::on_max_streams(uint64_t max) {
  if (max <= peer_allows_) return;
  peer_allows_ = max;
  if (open_blocked_) {
    open_blocked_ = false;
    push(StreamEvent::Kind::can_open, 0);
  }
}

// ---- what happened to frames we sent ----

void StreamSet::on_frame_acked(const SentFrame& f) {
  Stream* s = find(f.stream);
  switch (f.kind) {
    case SentKind::stream: {
      if (!s) return;
      // Acknowledgements free connection credit only when memory, not the
      // peer's MAX_DATA, is what holds writers back.
      const bool memory_bound =
          config_.max_connection_window - total_unacked_ <= peer_max_data_ - total_written_;
      account(*s, [&] { s->on_acked(f.offset, f.length, f.fin); });
      notify_writable(*s);
      if (memory_bound) notify_connection_writable();
      maybe_close(f.stream);
      return;
    }
    case SentKind::reset_stream:
      if (!s) return;
      s->reset_out_acked = true;
      maybe_close(f.stream);
      return;
    case SentKind::max_stream_data:
    case SentKind::max_data:
    case SentKind::max_streams: return;
  }
}

void StreamSet::on_frame_lost(const SentFrame& f) {
  Stream* s = find(f.stream);
  switch (f.kind) {
    case SentKind::stream:
      if (!s) return;
      s->on_lost(f.offset, f.length, f.fin);
      queue_send(*s);
      return;
    case SentKind::reset_stream:
      if (!s || s->reset_out_acked) return;
      s->reset_out_pending = true;
      queue_control(*s);
      return;
    case SentKind::max_stream_data:
      if (!s || s->discarding() || s->final_known()) return;
      s->update_pending = true;
      queue_control(*s);
      return;
    case SentKind::max_data: data_pending_ = true; return;
    case SentKind::max_streams: streams_pending_ = true; return;
  }
}

void StreamSet::on_probe(uint64_t max_bytes) {
  for (auto& [id, s] : streams_) {
    s->probe(max_bytes);
    queue_send(*s);
  }
}

// ---- frames to the peer ----

bool StreamSet::wants_to_send() const {
  return data_pending_ || streams_pending_ || !control_queue_.empty() || !send_queue_.empty();
}

bool StreamSet::fill_control(wire::Writer& w, std::vector<uint8_t>& out, size_t limit, uint64_t now, uint64_t srtt,
                             FrameLog& log) {
  auto room = [&] { return limit > out.size() ? limit - out.size() : 0; };
  if (data_pending_ && room() >= small_frame_room && !log.full()) {
    // As for a stream's window: used up within two round trips, it doubles.
    if (data_granted_at_ && now - *data_granted_at_ < 2 * srtt)
      data_window_ = std::min(data_window_ * 2, std::max(config_.max_connection_window, data_window_));
    data_granted_ = std::max(data_granted_, consumed_ + data_window_);
    data_granted_at_ = now;
    encode_max_data(w, data_granted_);
    log.add({SentKind::max_data});
    data_pending_ = false;
  }
  if (streams_pending_ && room() >= small_frame_room && !log.full()) {
    streams_granted_ = std::max(streams_granted_, peer_closed_ + config_.initial_max_streams);
    encode_max_streams(w, streams_granted_);
    log.add({SentKind::max_streams});
    streams_pending_ = false;
  }
  while (!control_queue_.empty() && room() >= control_frames_room && log.count + 2 <= FrameLog::capacity) {
    const uint64_t id = control_queue_.front();
    control_queue_.pop_front();
    Stream* s = find(id);
    if (!s) continue;
    s->in_control_queue = false;
    if (s->reset_out_pending) {
      encode_reset_stream(w, {id, s->reset_out_code(), s->written()});
      log.add({SentKind::reset_stream, false, 0, id});
      s->reset_out_pending = false;
    }
    if (s->update_pending) {
      s->update_pending = false;
      if (!s->discarding() && !s->final_known()) {
        const uint64_t max = s->wants_window_update() ? s->grant(now, srtt, config_) : s->granted();
        encode_max_stream_data(w, id, max);
        log.add({SentKind::max_stream_data, false, 0, id});
      }
    }
  }
  return control_queue_.empty();
}

void StreamSet::fill_data(wire::Writer& w, std::vector<uint8_t>& out, size_t limit, FrameLog& log) {
  auto room = [&] { return limit > out.size() ? limit - out.size() : 0; };
  while (!send_queue_.empty() && !log.full()) {
    const uint64_t id = send_queue_.front();
    Stream* s = find(id);
    // Type, id, an offset of up to 9 bytes and a length of up to 3.
    const size_t header = 1 + varint_size(id) + 9 + 3;
    std::optional<StreamChunk> c;
    if (s && s->has_send_work()) {
      if (room() <= header) return;
      c = s->next_chunk(room() - header);
    }
    send_queue_.pop_front();
    if (!s) continue;
    s->in_send_queue = false;
    if (!c) continue;
    encode_stream_header(w, id, c->offset, c->length, c->fin);
    for (uint64_t at = c->offset, end = c->offset + c->length; at < end;) {
      const auto piece = s->send_view(at, static_cast<size_t>(end - at));
      assert(!piece.empty());
      if (piece.empty()) break;
      w.raw(piece);
      at += piece.size();
    }
    log.add({SentKind::stream, c->fin, static_cast<uint32_t>(c->length), id, c->offset});
    (c->again ? counters_.bytes_retransmitted : counters_.bytes_sent) += c->length;
    notify_writable(*s);  // its backlog shrank
    queue_send(*s);       // round-robin: to the back, if it has more
  }
}

void StreamSet::fill(std::vector<uint8_t>& out, size_t limit, uint64_t now, uint64_t srtt, FrameLog& log) {
  wire::Writer w(out);
  // Control frames first: they unblock the peer.
  if (!fill_control(w, out, limit, now, srtt, log)) return;
  fill_data(w, out, limit, log);
}

}  // namespace roam
