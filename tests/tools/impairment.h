// The link model of the impairment relay: what one direction of a bad network
// does to the datagrams put into it. Pure logic: the caller passes the time in
// and the randomness comes from a seeded generator, so a run is reproducible
// and unit-testable without sockets or sleeping.
//
// A datagram submitted at time `now` goes through, in order:
//   outage      dropped while an outage is on;
//   loss        dropped with probability `loss`;
//   rate cap    serialised at `rate_kbit` behind the ones before it, like a
//               slow link's transmit queue; dropped (tail drop) when the
//               backlog would exceed `queue_ms` or `queue_bytes`;
//   delay       `delay_ms` plus a uniform 0..`jitter_ms`; jitter alone never
//               reorders (a datagram never leaves before the one before it);
//   reorder     with probability `reorder`, held `reorder_gap_ms` longer, so
//               that datagrams after it overtake it;
//   duplicate   with probability `dup`, delivered twice.
// Datagrams wait inside the Link until due; take them with pop_due().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <vector>

namespace roam::relay {

using Time = std::chrono::microseconds;  // since an arbitrary epoch (the relay's start)

struct LinkParams {
  double delay_ms = 0;
  double jitter_ms = 0;
  double loss = 0;     // probability 0..1
  double dup = 0;      // probability 0..1
  double reorder = 0;  // probability 0..1
  double reorder_gap_ms = 20;
  double rate_kbit = 0;         // 0: no rate cap
  double queue_ms = 1000;       // largest backlog of the rate cap, in time ...
  std::size_t queue_bytes = 0;  // ... and in bytes (0: no byte limit)
};

// Sets one parameter by name ("delay", "jitter", "loss", "dup", "reorder",
// "reorder-gap", "rate", "queue-ms", "queue-bytes"). Returns an error message,
// or nothing when it was set.
std::optional<std::string> set_param(LinkParams& params, const std::string& name, double value);

struct LinkStats {
  std::uint64_t packets = 0;  // submitted
  std::uint64_t bytes = 0;
  std::uint64_t sent_packets = 0;  // delivered (duplicates included)
  std::uint64_t sent_bytes = 0;
  std::uint64_t dropped_outage = 0;
  std::uint64_t dropped_loss = 0;
  std::uint64_t dropped_queue = 0;  // rate-cap backlog full, or the in-flight bound
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
  std::uint64_t dropped() const { return dropped_outage + dropped_loss + dropped_queue; }
};

class Link {
 public:
  // Hard bounds on what waits inside the link, whatever the parameters.
  static constexpr std::size_t max_inflight_packets = 50'000;
  static constexpr std::size_t max_inflight_bytes = 64u << 20;

  explicit Link(LinkParams params = {}, std::uint64_t seed = 1);

  const LinkParams& params() const { return params_; }
  void set_params(const LinkParams& params) { params_ = params; }
  const LinkStats& stats() const { return stats_; }

  // Drops everything submitted before `until`.
  void outage(Time until) { outage_until_ = until; }
  bool in_outage(Time now) const { return now < outage_until_; }

  // Puts a datagram into the link. Returns how many copies will come out (0: dropped).
  int submit(Time now, std::vector<std::uint8_t> data);

  // When the next datagram is due, if any waits.
  std::optional<Time> next_due() const;
  // Takes the datagrams due at `now`, in delivery order.
  std::vector<std::vector<std::uint8_t>> pop_due(Time now);

  std::size_t inflight_packets() const { return pending_.size(); }
  std::size_t inflight_bytes() const { return pending_bytes_; }
  // Backlog of the rate cap's transmit queue at `now`.
  Time backlog(Time now) const { return link_free_ > now ? link_free_ - now : Time{0}; }

 private:
  struct Pending {
    Time due;
    std::uint64_t order;  // ties keep submission order
    std::vector<std::uint8_t> data;
    bool operator>(const Pending& o) const { return due != o.due ? due > o.due : order > o.order; }
  };

  double uniform();  // [0, 1)
  bool chance(double p) { return p > 0 && uniform() < p; }
  void enqueue(Time due, std::vector<std::uint8_t> data);

  LinkParams params_;
  std::uint64_t rng_state_;
  LinkStats stats_;
  Time outage_until_{0};
  Time link_free_{0};      // when the rate cap's transmitter is next idle
  Time last_in_order_{0};  // due time of the last datagram not reordered
  std::uint64_t next_order_ = 0;
  std::size_t pending_bytes_ = 0;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
};

}  // namespace roam::relay
