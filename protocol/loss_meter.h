// How many of the peer's datagrams go missing, from the gaps in their
// sequence numbers: every datagram the peer seals takes the next number, so
// a gap is a datagram lost on the way (or still behind, when the network
// reorders). The estimate is a moving average over roughly the last 32
// datagrams, so that it follows a link that gets better or worse.
#pragma once

#include <cstdint>
#include <optional>

namespace roam {

class LossMeter {
 public:
  // An authentic datagram with this sequence number arrived.
  void arrived(uint64_t seq);
  // The fraction lost, 0..1; 0 before anything arrived.
  double loss() const { return loss_; }

 private:
  static constexpr double weight = 1.0 / 32;
  // A longer gap is an outage (a suspended laptop, a dead link), not loss:
  // copies cannot help there, and the link that comes back may be clean.
  static constexpr uint64_t max_burst = 8;

  std::optional<uint64_t> highest_;
  double loss_ = 0;
};

}  // namespace roam
