#include "protocol/stream.h"

#include <algorithm>

namespace roam {

Stream::Stream(uint64_t id, const StreamConfig& config, ChunkPool& pool)
    : id_(id),
      send_(pool),
      acked_(config.max_send_ranges),
      lost_(config.max_send_ranges),
      peer_max_(config.initial_stream_window),
      recv_(pool),
      received_(config.max_receive_ranges),
      max_granted_(config.initial_stream_window),
      window_(config.initial_stream_window) {}

// ---- sending ----

uint64_t Stream::send_credit(const StreamConfig& config) const {
  if (reset_out_ || fin_written_) return 0;
  const uint64_t by_peer = peer_max_ > written_ ? peer_max_ - written_ : 0;
  const uint64_t held = written_ - acked_low_;
  const uint64_t by_memory = config.max_stream_window > held ? config.max_stream_window - held : 0;
  return std::min(by_peer, by_memory);
}

void Stream::write(std::span<const uint8_t> data) {
  send_.write(written_, data);
  written_ += data.size();
}

void Stream::reset_sending(uint64_t code) {
  if (reset_out_) return;
  reset_out_ = true;
  reset_out_code_ = code;
  reset_out_pending = true;
  send_.clear();
  acked_.clear();
  lost_.clear();
  fin_lost_ = false;
}

bool Stream::has_send_work() const {
  return !reset_out_ && (!lost_.empty() || fin_lost_ || sent_ < written_ || (fin_written_ && !fin_sent_));
}

std::optional<StreamChunk> Stream::next_chunk(size_t max) {
  if (reset_out_) return std::nullopt;
  if (!lost_.empty() && max > 0) {
    const Range r = lost_.front();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(r.size(), max));
    StreamChunk c{r.begin, n, fin_written_ && r.begin + n == written_, true};
    lost_.remove(r.begin, r.begin + n);
    if (c.fin) fin_lost_ = false;
    fin_sent_ |= c.fin;
    return c;
  }
  if (fin_lost_ && lost_.empty()) {
    fin_lost_ = false;
    return StreamChunk{written_, 0, true, true};
  }
  if (sent_ < written_ && max > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(written_ - sent_, max));
    StreamChunk c{sent_, n, fin_written_ && sent_ + n == written_};
    sent_ += n;
    fin_sent_ |= c.fin;
    return c;
  }
  if (fin_written_ && !fin_sent_ && sent_ == written_) {
    fin_sent_ = true;
    return StreamChunk{written_, 0, true};
  }
  return std::nullopt;
}

void Stream::on_acked(uint64_t offset, uint64_t length, bool fin) {
  if (reset_out_) return;
  const uint64_t end = offset + length;
  if (end > acked_low_) {
    const uint64_t begin = std::max(offset, acked_low_);
    // No room to remember it: send it again, to be acknowledged once the
    // holes before it have filled.
    if (!acked_.add(begin, end)) lost_.add_widening(begin, end);
  }
  lost_.remove(offset, end);
  if (fin) {
    fin_acked_ = true;
    fin_lost_ = false;
  }
  acked_low_ = acked_.contiguous_end(acked_low_);
  acked_.remove_below(acked_low_);
  lost_.remove_below(acked_low_);
  send_.release_before(acked_low_);
}

void Stream::on_lost(uint64_t offset, uint64_t length, bool fin) {
  if (reset_out_) return;
  if (fin && !fin_acked_) fin_lost_ = true;
  const uint64_t end = offset + length;
  uint64_t at = std::max(offset, acked_low_);
  // Only the parts not acknowledged since (by a later copy).
  for (const Range& r : acked_.ranges()) {
    if (at >= end || r.begin >= end) break;
    if (r.end <= at) continue;
    if (r.begin > at) lost_.add_widening(at, r.begin);
    at = std::max(at, r.end);
  }
  if (at < end) lost_.add_widening(at, end);
}

void Stream::probe(uint64_t max) {
  if (reset_out_) return;
  if (sent_ > acked_low_) on_lost(acked_low_, std::min(sent_ - acked_low_, max), false);
  else if (fin_sent_ && !fin_acked_) on_lost(written_, 0, true);
}

bool Stream::send_done() const {
  if (reset_out_) return reset_out_acked;
  return fin_written_ && fin_acked_ && acked_low_ == written_;
}

// ---- receiving ----

StreamError Stream::check_data(uint64_t offset, size_t length, bool fin, uint64_t& growth) const {
  const uint64_t end = offset + length;
  if (final_size_ && (end > *final_size_ || (fin && end != *final_size_))) return StreamError::final_size;
  if (fin && end < highest_) return StreamError::final_size;
  if (end > max_granted_) return StreamError::flow_control;
  growth = end > highest_ ? end - highest_ : 0;
  return StreamError::none;
}

StreamError Stream::accept_data(uint64_t offset, std::span<const uint8_t> data, bool fin) {
  const uint64_t end = offset + data.size();
  if (!discarding_ && end > read_) {
    const uint64_t begin = std::max(offset, read_);
    if (!received_.add(begin, end)) return StreamError::too_fragmented;
    recv_.write(begin, data.subspan(static_cast<size_t>(begin - offset)));
  }
  highest_ = std::max(highest_, end);
  if (fin) final_size_ = end;
  return StreamError::none;
}

StreamError Stream::check_reset(uint64_t final_size, uint64_t& growth) const {
  if (final_size_ && *final_size_ != final_size) return StreamError::final_size;
  if (final_size < highest_) return StreamError::final_size;
  if (final_size > max_granted_) return StreamError::flow_control;
  growth = final_size - highest_;
  return StreamError::none;
}

void Stream::accept_reset(uint64_t final_size, uint64_t code) {
  if (peer_reset_) return;
  peer_reset_ = true;
  peer_reset_code_ = code;
  final_size_ = final_size;
  highest_ = std::max(highest_, final_size);
  discard_incoming();
}

void Stream::discard_incoming() {
  discarding_ = true;
  recv_.clear();
  received_.clear();
}

uint64_t Stream::readable() const {
  if (discarding_) return 0;
  return received_.contiguous_end(read_) - read_;
}

std::span<const uint8_t> Stream::peek() const { return recv_.view(read_, static_cast<size_t>(readable())); }

void Stream::consume(uint64_t n) {
  read_ += std::min(n, readable());
  received_.remove_below(read_);
  recv_.release_before(read_);
}

bool Stream::recv_done() const { return discarding_ ? final_size_.has_value() : at_eof(); }

bool Stream::wants_window_update() const {
  if (discarding_ || final_size_) return false;
  return max_granted_ - read_ < window_ / 2;
}

uint64_t Stream::grant(uint64_t now, uint64_t srtt, const StreamConfig& config) {
  // The reader kept up with the whole window within two round trips: the
  // window, not the reader, is what limits the transfer.
  if (granted_at_ && now - *granted_at_ < 2 * srtt)
    window_ = std::min(window_ * 2, std::max(config.max_stream_window, window_));
  max_granted_ = std::max(max_granted_, read_ + window_);
  granted_at_ = now;
  return max_granted_;
}

}  // namespace roam
