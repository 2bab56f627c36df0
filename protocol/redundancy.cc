#include "protocol/redundancy.h"

#include <algorithm>
#include <cmath>

namespace roam {

void Redundancy::update(double loss) {
  loss_ = loss;
  if (loss > redundancy::on_above) active_ = true;
  else if (loss < redundancy::off_below) active_ = false;
}

int Redundancy::copies() const {
  if (!active_) return 0;
  return loss_ > redundancy::second_copy_above ? 2 : 1;
}

uint64_t Redundancy::spacing(const RttEstimator& rtt) {
  return static_cast<uint64_t>(std::clamp(std::ceil(rtt.srtt() / 25), 2.0, 20.0));
}

uint64_t Redundancy::patience(const RttEstimator& rtt) const {
  const double wait = rtt.srtt() + 2 * rtt.rttvar() + redundancy::prompt_ack_delay +
                      static_cast<double>(copies()) * static_cast<double>(spacing(rtt)) + 10;
  return static_cast<uint64_t>(std::clamp(std::ceil(wait), 50.0, 1000.0));
}

}  // namespace roam
