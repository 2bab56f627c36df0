#include "protocol/connection.h"

#include <algorithm>
#include <cmath>

namespace roam {

namespace {

// A held timestamp older than this says nothing useful about the path.
constexpr uint64_t max_timestamp_hold = 1000;
constexpr double max_rtt_sample = 5000;

uint16_t ts16(uint64_t now) { return static_cast<uint16_t>(now & 0xffff); }

}  // namespace

void RttEstimator::sample(double ms) {
  if (ms < 0 || ms >= max_rtt_sample) return;
  if (!has_) {
    srtt_ = ms;
    rttvar_ = ms / 2;
    has_ = true;
    return;
  }
  rttvar_ = 0.75 * rttvar_ + 0.25 * std::fabs(srtt_ - ms);
  srtt_ = 0.875 * srtt_ + 0.125 * ms;
}

uint64_t RttEstimator::rto() const {
  return static_cast<uint64_t>(std::clamp(std::ceil(srtt_ + 4 * rttvar_), 50.0, 1000.0));
}

uint64_t RttEstimator::send_interval() const {
  return static_cast<uint64_t>(std::clamp(std::ceil(srtt_ / 2), 20.0, 250.0));
}

Connection::Connection(const crypto::Key& key, ConnId conn_id, crypto::Direction outgoing)
    : codec_(key, conn_id, outgoing) {}

uint16_t Connection::timestamp_reply(uint64_t now) const {
  if (!peer_timestamp_ || now - peer_timestamp_at_ > max_timestamp_hold) return 0xffff;
  // Subtract the time we held it, so the peer measures the path, not us.
  return static_cast<uint16_t>(*peer_timestamp_ + (now - peer_timestamp_at_));
}

Result<void> Connection::send(const Instruction& instruction, uint64_t now, const Emit& emit) {
  plain_.clear();
  encode(instruction, plain_);
  packed_.clear();
  compressor_.pack(plain_, packed_);
  if (auto split = fragmenter_.split(packed_, max_datagram_payload, fragments_); !split) {
    ++unsendable_;
    fragments_.clear();  // they viewed the previous packed bytes
    return fail(split.error());
  }
  return seal_fragments(now, emit);
}

size_t Connection::resend_last(uint64_t now, const Emit& emit) {
  return seal_fragments(now, emit) ? fragments_.size() : 0;
}

Result<void> Connection::seal_fragments(uint64_t now, const Emit& emit) {
  const uint16_t reply = timestamp_reply(now);
  for (const Fragment& f : fragments_) {
    fragment_.clear();
    encode_fragment(f, fragment_);
    // 0xffff means "no timestamp to echo"; keep it out of real timestamps.
    uint16_t ts = ts16(now);
    if (ts == 0xffff) ts = 0;
    auto sealed = codec_.seal(ts, reply, fragment_);
    if (!sealed) return fail(sealed.error());  // sequence numbers exhausted: 2^63 datagrams
    emit(*sealed);
  }
  if (reply != 0xffff) peer_timestamp_.reset();  // echo each timestamp once
  return {};
}

Result<Connection::Arrival> Connection::receive(std::span<const uint8_t> datagram, uint64_t now) {
  auto opened = codec_.open(datagram);
  if (!opened) {
    if (opened.error() == Errc::wrong_direction) ++drops_.wrong_direction;
    else if (opened.error() == Errc::auth_failed) ++drops_.auth_failed;
    else ++drops_.malformed;
    return fail(opened.error());
  }
  last_heard_ = now;
  loss_.arrived(opened->seq);
  Arrival arrival{opened->seq, nullptr};
  if (opened->timestamp_reply != 0xffff)
    rtt_.sample(static_cast<double>(static_cast<uint16_t>(ts16(now) - opened->timestamp_reply)));
  peer_timestamp_ = opened->timestamp;
  peer_timestamp_at_ = now;
  const uint64_t stale_before = reassembler_.stale_dropped();
  const uint64_t duplicate_before = reassembler_.duplicates_dropped();
  auto complete = reassembler_.add(opened->payload);
  drops_.stale += reassembler_.stale_dropped() - stale_before;
  drops_.duplicate += reassembler_.duplicates_dropped() - duplicate_before;
  if (!complete) {
    ++drops_.malformed;
    return fail(complete.error());
  }
  if (!*complete) return arrival;
  unpacked_.clear();
  if (auto ok = compressor_.unpack(reassembler_.completed(), max_instruction_size, unpacked_); !ok) {
    ++drops_.malformed;
    return fail(ok.error());
  }
  if (auto decoded = decode_instruction(unpacked_, incoming_); !decoded) {
    if (decoded.error() == Errc::bad_version) {
      ++drops_.bad_version;
      peer_version_ = unpacked_.front();
    } else {
      ++drops_.malformed;
    }
    return fail(decoded.error());
  }
  arrival.instruction = &incoming_;
  return arrival;
}

}  // namespace roam
