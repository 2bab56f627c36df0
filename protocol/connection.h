// One end of an encrypted datagram channel: packs, fragments and seals
// instructions, reassembles and opens what arrives, and estimates the round
// trip time from echoed timestamps. Pure logic: time comes in as
// milliseconds, datagrams go out through a callback, so tests can drive it
// with a fake clock and a lossy channel.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "protocol/compress.h"
#include "protocol/crypto.h"
#include "protocol/datagram.h"
#include "protocol/fragment.h"
#include "protocol/instruction.h"
#include "protocol/loss_meter.h"
#include "protocol/result.h"

namespace roam {

using Emit = std::function<void(std::span<const uint8_t> datagram)>;

// What arrived and was dropped, for people and tests.
struct DropCounters {
  uint64_t auth_failed = 0;      // forged, corrupted or for another key
  uint64_t wrong_direction = 0;  // our own datagrams reflected back
  uint64_t malformed = 0;        // authentic but undecodable
  uint64_t unknown_state = 0;    // a diff from a state we do not hold
  uint64_t stale = 0;            // fragments of superseded instructions
  uint64_t bad_version = 0;      // authentic, but in a protocol version we do not speak
  // Not a fault: copies of an instruction we already completed (the peer's
  // redundant copies, the network's duplicates), kept apart so that the
  // counters above stay about what went wrong.
  uint64_t duplicate = 0;
  uint64_t over_limit = 0;       // authentic, but would pass a memory limit (the connection ends)
  uint64_t evicted_states = 0;   // received states let go to keep within limits::max_received_bytes
  uint64_t unsolicited = 0;      // history replies to no request of ours, dropped unread

  DropCounters& operator+=(const DropCounters& o) {
    auth_failed += o.auth_failed;
    wrong_direction += o.wrong_direction;
    malformed += o.malformed;
    unknown_state += o.unknown_state;
    stale += o.stale;
    bad_version += o.bad_version;
    duplicate += o.duplicate;
    over_limit += o.over_limit;
    evicted_states += o.evicted_states;
    unsolicited += o.unsolicited;
    return *this;
  }
};

class RttEstimator {
 public:
  void sample(double ms);  // samples of 5 s or more are ignored
  bool has_sample() const { return has_; }
  double srtt() const { return srtt_; }
  double rttvar() const { return rttvar_; }
  // Retransmission timeout: SRTT + 4 RTTVAR, within 50-1000 ms.
  uint64_t rto() const;
  // Frame pacing: SRTT / 2 within 20-250 ms.
  uint64_t send_interval() const;

 private:
  bool has_ = false;
  double srtt_ = 1000, rttvar_ = 500;
};

class Connection {
 public:
  Connection(const crypto::Key& key, ConnId conn_id, crypto::Direction outgoing);

  // Fails (and counts it) only for an instruction over the size limit,
  // which the states are built never to make.
  Result<void> send(const Instruction& instruction, uint64_t now, const Emit& emit);
  // Sends the last instruction again, the same fragments under the same
  // instruction id (the peer drops the copy it already has before decoding
  // it), sealed anew: a fresh sequence number and timestamp, and the peer's
  // timestamp echoed only if this one carries it first, so that every RTT
  // sample comes from a datagram whose send time is known. Returns the
  // datagrams sent (none after a send that failed).
  size_t resend_last(uint64_t now, const Emit& emit);

  struct Arrival {
    uint64_t seq;                            // authentic datagram's sequence number
    // Set when this datagram completed one; valid until the next receive().
    const Instruction* instruction = nullptr;
  };
  // Errors are drops, already counted.
  Result<Arrival> receive(std::span<const uint8_t> datagram, uint64_t now);

  const RttEstimator& rtt() const { return rtt_; }
  // The loss of the datagrams the peer sends us.
  double loss() const { return loss_.loss(); }
  DropCounters& drops() { return drops_; }
  const DropCounters& drops() const { return drops_; }
  uint64_t last_heard() const { return last_heard_; }
  // Instructions that could not be sent (too large): should stay 0.
  uint64_t unsendable() const { return unsendable_; }
  // The protocol version of the peer's newest authentic instruction that
  // was not ours: the peer is another roam.
  std::optional<uint8_t> peer_version() const { return peer_version_; }
  ConnId conn_id() const { return codec_.conn_id(); }

 private:
  uint16_t timestamp_reply(uint64_t now) const;
  Result<void> seal_fragments(uint64_t now, const Emit& emit);

  DatagramCodec codec_;
  Compressor compressor_;
  Fragmenter fragmenter_;
  Reassembler reassembler_;
  RttEstimator rtt_;
  LossMeter loss_;
  DropCounters drops_;
  std::vector<uint8_t> plain_, packed_, fragment_, unpacked_;
  std::vector<Fragment> fragments_;
  Instruction incoming_;
  // The peer's newest timestamp, echoed back (adjusted for how long we held it).
  std::optional<uint16_t> peer_timestamp_;
  uint64_t peer_timestamp_at_ = 0;
  uint64_t last_heard_ = 0;
  uint64_t unsendable_ = 0;
  std::optional<uint8_t> peer_version_;
};

}  // namespace roam
