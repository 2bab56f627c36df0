// State synchronisation as in mosh's SSP: each side numbers the states it
// sends, and every instruction says "this diff turns your copy of my state
// old_num into my state new_num". Loss, reordering and duplication are
// harmless because a diff is applied to a copy of a state the receiver holds.
//
// Local and Remote are state types with: copy, operator== ("nothing new"),
// diff_from(const S& old, std::vector<uint8_t>&) and
// Result<void> apply(std::span<const uint8_t>). A Remote with held_bytes()
// (HostState) is bounded: the received states hold at most
// limits::max_received_bytes together.
#pragma once

#include <algorithm>
#include <span>

#include "protocol/connection.h"
#include "protocol/limits.h"
#include "protocol/redundancy.h"
#include "protocol/slots.h"

namespace roam {

namespace transport_timing {
inline constexpr uint64_t ack_delay = 100;       // delayed acknowledgement
inline constexpr uint64_t heartbeat = 3000;      // something is sent at least this often
inline constexpr size_t max_sent_states = 32;
inline constexpr size_t max_received_states = 16;
// After a new remote state, how long the next frame counts as its echo
// (beyond one frame interval): the program's answer takes a moment.
inline constexpr uint64_t echo_window = 50;
// ... and how long after it a second frame may still be its echo (but not
// the echo acknowledgement, 50 ms later).
inline constexpr uint64_t echo_followup = 20;
}  // namespace transport_timing

template <class Local, class Remote>
class Transport {
 public:
  Transport(const crypto::Key& key, ConnId conn_id, crypto::Direction outgoing)
      : connection_(key, conn_id, outgoing) {
    sent_.push_back() = {0, 0, false, current_};
    received_.push_back() = {0, Remote{}};
  }

  // Change the local state here, then call tick().
  Local& local() { return current_; }
  const Remote& remote() const { return received_.back().state; }
  // For a consumer that frees what it has consumed (UserState::forget_before).
  Remote& remote_mut() { return received_.back().state; }
  uint64_t remote_num() const { return received_.back().num; }

  struct Received {
    // Authentic and well formed (an instruction of our version, or a
    // fragment of one): the peer was heard. An authentic datagram that is
    // undecodable or of another version is refused, counted in the drops.
    bool accepted = false;
    uint64_t seq = 0;        // of the accepted datagram
    bool new_state = false;  // remote() changed
    // The diff would pass a limit of ours (Errc::too_large): a server
    // that sends one is broken or hostile, and the connection should end.
    bool over_limit = false;
  };
  Received receive(std::span<const uint8_t> datagram, uint64_t now) {
    Received out;
    auto arrival = connection_.receive(datagram, now);
    if (!arrival) return out;
    out.accepted = true;
    out.seq = arrival->seq;
    if (arrival->instruction) out.new_state = process(*arrival->instruction, now, out.over_limit);
    return out;
  }

  // Every received state, for a consumer that frees what it has taken from
  // them all (HostState::forget_reply_contents); the waiting slots too.
  template <class F>
  void for_each_remote(F&& f) {
    for (size_t i = 0; i < received_.slots(); ++i) f(received_[i].state);
  }

  // Sends whatever is due now; returns when it next needs to run.
  uint64_t tick(uint64_t now, const Emit& emit) {
    using namespace transport_timing;
    redundancy_.update(connection_.loss());
    const size_t assumed = assumed_receiver_state(now);
    const bool dirty = !same(current_, sent_[assumed].state);
    const uint64_t interval = connection_.rtt().send_interval();
    // Pacing counts frames only: an ack or heartbeat just sent must not
    // hold back the next keystroke's echo. A small urgent state (a
    // keystroke, its echo) is not paced: one small frame early costs
    // nothing; a large one is bulk after all and waits its turn.
    const bool paced = hurry_ || now >= last_state_send_ + interval;
    if (dirty && !paced && is_urgent(now) && !small(assumed)) {
      urgent_ = false;
      echo_frames_ = 0;
    }
    if (dirty && (paced || is_urgent(now))) {
      send_state(assumed, now, emit);
      hurry_ = false;
    } else if (copies_left_ > 0 && now >= copy_at_) {
      send_copy(now, emit);
    } else if ((ack_due_ && now >= *ack_due_) || now >= last_send_ + heartbeat) {
      send_ack(now, emit);
    }
    return next_wakeup(now);
  }

  // The next tick sends at once (an ack, or the state if it is due): after
  // waking from sleep or changing address, the peer should hear from us now.
  void nudge() { ack_due_ = 0; }
  // The next tick sends the state without waiting for the frame interval:
  // for a one-off change someone is waiting for (the pager's page).
  void hurry() { hurry_ = true; }
  // The next state is urgent (someone typed): on a lossy link it is sent
  // more than once (redundancy.h). A state sent soon after a new remote
  // state (the echo of a keystroke) is urgent without this.
  void urgent() { urgent_ = true; }
  const Redundancy& redundancy() const { return redundancy_; }

  // Sends the newest state now as a diff from the state the peer
  // acknowledged, which it surely holds: for last words that nobody stays
  // to see acknowledged (a client leaving, a server stopping), sent more
  // than once. Pacing is not consulted.
  void resend(uint64_t now, const Emit& emit) { send_state(0, now, emit); }

  // Everything we have is acknowledged: nothing in flight.
  bool idle() const { return sent_.size() == 1 && same(current_, sent_.front().state); }
  uint64_t last_send() const { return last_send_; }
  uint64_t last_state_send() const { return last_state_send_; }
  const Connection& connection() const { return connection_; }
  Connection& connection() { return connection_; }

 private:
  struct Sent {
    uint64_t num;
    uint64_t sent_at;
    bool urgent;  // small and urgent: its acknowledgement is awaited with less patience
    Local state;
  };
  struct Got {
    uint64_t num;
    Remote state;
  };

  // Whether a state holds nothing new: by row versions where the state can
  // tell (HostState), without comparing every cell.
  template <class S>
  static bool same(const S& a, const S& b) {
    if constexpr (requires { a.unchanged_from(b); })
      return a.unchanged_from(b);
    else
      return a == b;
  }

  // The newest sent state the peer probably holds. As in mosh, states are
  // trusted to be on their way only while the whole chain from the
  // acknowledged state on was sent recently: after a quiet spell, or once a
  // state is overdue (probably lost, and with it every diff built on it),
  // diffs start again from the acknowledged state, which the peer surely has.
  // That resends a state typed after a quiet spell every frame interval
  // until it is acknowledged; with redundancy on, its copies and its own
  // patience do that job, so the chain starts after the acknowledged state.
  size_t assumed_receiver_state(uint64_t now) const {
    size_t assumed = 0;
    for (size_t i = redundancy_.active() ? 1 : 0; i < sent_.size() && now - sent_[i].sent_at < patience(sent_[i]); ++i)
      assumed = i;
    return assumed;
  }

  // How long a state in flight is trusted to be on its way. An urgent
  // state on a lossy link is resent on the first sign of loss: its
  // acknowledgement, promptly sent by the peer, is late.
  uint64_t patience(const Sent& s) const {
    const uint64_t usual = connection_.rtt().rto() + transport_timing::ack_delay;
    if (!s.urgent || !redundancy_.active()) return usual;
    return std::min(usual, redundancy_.patience(connection_.rtt()));
  }

  // Whether the state's diff, from the base send_state() would use for an
  // urgent one, is small.
  bool small(size_t assumed) {
    outgoing_.diff.clear();
    current_.diff_from(sent_[redundancy_.active() ? 0 : assumed].state, outgoing_.diff);
    return outgoing_.diff.size() <= redundancy::max_urgent_diff;
  }

  // A state sent now is urgent: someone typed, or it is the first frame
  // since a new remote state (a keystroke) arrived, or a second one just
  // after it: the first may only carry what was waiting for the frame
  // interval, the program's echo comes a moment later.
  bool is_urgent(uint64_t now) const {
    using namespace transport_timing;
    if (urgent_) return true;
    if (echo_frames_ == 2) return now < echo_from_ + connection_.rtt().send_interval() + echo_window;
    return echo_frames_ == 1 && now < echo_from_ + echo_followup;
  }

  void send_state(size_t assumed, uint64_t now, const Emit& emit) {
    if (!same(current_, sent_.back().state)) {
      if (sent_.size() >= transport_timing::max_sent_states) {
        // Keep the acknowledged state (front); forget the oldest in flight.
        sent_.erase(1, 2);
        assumed = std::min(assumed, sent_.size() - 1);
      }
      const uint64_t num = sent_.back().num + 1;
      Sent& slot = sent_.push_back();
      slot.num = num;
      slot.state = current_;
    }
    Sent& target = sent_.back();
    target.sent_at = now;
    Instruction& in = outgoing_;
    in.diff.clear();
    // An urgent state goes as a diff from the acknowledged state, so that
    // every copy and resend alone brings the peer up to date; if that diff
    // is large, the state is bulk after all.
    target.urgent = false;
    if (redundancy_.active() && is_urgent(now)) {
      current_.diff_from(sent_.front().state, in.diff);
      target.urgent = in.diff.size() <= redundancy::max_urgent_diff;
      if (target.urgent) assumed = 0;
      else in.diff.clear();
    }
    if (!target.urgent) current_.diff_from(sent_[assumed].state, in.diff);
    in.old_num = sent_[assumed].num;
    in.new_num = target.num;
    in.ack_num = received_.back().num;
    in.throwaway_num = sent_.front().num;
    transmit(in, now, emit);
    last_state_send_ = now;
    urgent_ = false;
    if (echo_frames_ > 0) --echo_frames_;
    if (target.urgent) {
      copies_left_ = redundancy_.copies();
      copy_at_ = now + Redundancy::spacing(connection_.rtt());
    }
  }

  // The last instruction again (it is the newest state: any other send
  // cancels the copies). Its acknowledgement may lag; one that is due
  // still goes out.
  void send_copy(uint64_t now, const Emit& emit) {
    (void)connection_.resend_last(now, emit);
    last_send_ = now;
    --copies_left_;
    copy_at_ = now + Redundancy::spacing(connection_.rtt());
  }

  void send_ack(uint64_t now, const Emit& emit) {
    Instruction& in = outgoing_;
    in.old_num = in.new_num = sent_.back().num;
    in.ack_num = received_.back().num;
    in.throwaway_num = sent_.front().num;
    in.diff.clear();
    transmit(in, now, emit);
  }

  void transmit(const Instruction& in, uint64_t now, const Emit& emit) {
    (void)connection_.send(in, now, emit);  // a failure is counted there
    last_send_ = now;
    ack_due_.reset();
    copies_left_ = 0;
  }

  bool process(const Instruction& in, uint64_t now, bool& over_limit) {
    // The acknowledgement first: it holds even when the diff cannot be used.
    auto acked = std::find_if(sent_.begin(), sent_.end(), [&](const Sent& s) { return s.num == in.ack_num; });
    if (acked != sent_.end() && acked != sent_.begin()) {
      sent_.erase(0, static_cast<size_t>(acked - sent_.begin()));
      // States that keep a log (UserState) can drop what the peer has.
      if constexpr (requires(Local& l, const Local& a) { l.forget_acknowledged(a); }) {
        const Local& base = sent_.front().state;
        for (size_t i = 1; i < sent_.size(); ++i) sent_[i].state.forget_acknowledged(base);
        current_.forget_acknowledged(base);
        sent_.front().state.forget_acknowledged(base);
      }
    }
    if (sent_.size() == 1) copies_left_ = 0;  // the peer has it: no more copies
    if (in.diff.empty() && in.old_num == in.new_num) return false;  // an ack or heartbeat
    // Whatever happens below, the peer wants to hear that we have its newest state.
    if (!ack_due_) ack_due_ = now + redundancy_.ack_delay(transport_timing::ack_delay);
    const bool have = std::any_of(received_.begin(), received_.end(), [&](const Got& g) { return g.num == in.new_num; });
    if (have) return false;  // a resend (our acknowledgement was late or lost)
    auto base = std::find_if(received_.begin(), received_.end(), [&](const Got& g) { return g.num == in.old_num; });
    if (base == received_.end()) {
      ++connection_.drops().unknown_state;
      return false;
    }
    // Into a spare slot at the end, assigned (its storage reused), then
    // moved into order by swaps.
    const size_t from = static_cast<size_t>(base - received_.begin());
    Got& next = received_.push_back();
    next.num = in.new_num;
    next.state = received_[from].state;
    if (auto applied = next.state.apply(in.diff); !applied) {
      received_.pop_back();
      over_limit = applied.error() == Errc::too_large;
      ++(over_limit ? connection_.drops().over_limit : connection_.drops().malformed);
      return false;
    }
    const bool newest = in.new_num > received_[received_.size() - 2].num;
    size_t at = received_.size() - 1;
    while (at > 0 && received_[at - 1].num > in.new_num) --at;
    if (at != received_.size() - 1) {
      std::rotate(received_.begin() + at, received_.end() - 1, received_.end());
    }
    // The peer will not diff from states older than throwaway_num again.
    while (received_.size() > 1 && received_.front().num < in.throwaway_num) received_.pop_front();
    while (received_.size() > transport_timing::max_received_states) received_.pop_front();
    if (!bound_received()) {
      over_limit = true;
      ++connection_.drops().over_limit;
      return false;
    }
    if (newest) {
      echo_from_ = now;
      echo_frames_ = 2;
    }
    return newest;
  }

  // What all slots hold, live or waiting (those still share rows).
  size_t received_bytes() const {
    size_t total = 0;
    for (size_t i = 0; i < received_.slots(); ++i) total += received_[i].state.held_bytes();
    return total;
  }

  // Keeps the received states within limits::max_received_bytes: the
  // waiting slots are emptied first, then the oldest states go (the peer
  // diffs from the newest, which we acknowledge). False: the newest alone
  // is over the limit.
  bool bound_received() {
    if constexpr (requires(const Remote& r) { r.held_bytes(); }) {
      if (received_bytes() <= limits::max_received_bytes) return true;
      for (size_t i = received_.size(); i < received_.slots(); ++i) received_[i].state = Remote{};
      while (received_bytes() > limits::max_received_bytes) {
        if (received_.size() == 1) return false;
        received_.front().state = Remote{};
        received_.pop_front();
        ++connection_.drops().evicted_states;
      }
    }
    return true;
  }

  uint64_t next_wakeup(uint64_t now) const {
    using namespace transport_timing;
    uint64_t next = last_send_ + heartbeat;
    if (ack_due_) next = std::min(next, *ack_due_);
    const size_t assumed = assumed_receiver_state(now);
    if (!same(current_, sent_[assumed].state))
      next = std::min(next, hurry_ || is_urgent(now) ? now : last_state_send_ + connection_.rtt().send_interval());
    // When an unacknowledged state becomes overdue, tick() resends.
    if (assumed > 0) next = std::min(next, sent_[assumed].sent_at + patience(sent_[assumed]));
    if (copies_left_ > 0) next = std::min(next, copy_at_);
    return std::max(next, now);
  }

  Connection connection_;
  Local current_{};
  Slots<Sent> sent_;  // front: the newest state the peer acknowledged
  Slots<Got> received_;
  Instruction outgoing_;  // reused: its diff's buffer is kept
  uint64_t last_send_ = 0;        // any datagram: for the heartbeat
  uint64_t last_state_send_ = 0;  // a new or resent state: for pacing
  std::optional<uint64_t> ack_due_;
  bool hurry_ = false;
  Redundancy redundancy_;
  bool urgent_ = false;
  uint64_t echo_from_ = 0;  // a new remote state arrived: the next frames hold its echo
  int echo_frames_ = 0;
  int copies_left_ = 0;           // of the newest state, the last instruction sent
  uint64_t copy_at_ = 0;
};

}  // namespace roam
