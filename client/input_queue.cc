#include "client/input_queue.h"

#include <algorithm>

namespace roam::client {

size_t InputQueue::push(std::string_view bytes) {
  const size_t fits = std::min(bytes.size(), max_queued - queued_);
  std::string_view rest = bytes.substr(0, fits);
  while (!rest.empty()) {
    if (chunks_.empty() || chunks_.back().size() == chunk) {
      chunks_.emplace_back();
      chunks_.back().reserve(chunk);
    }
    std::string& last = chunks_.back();
    const size_t n = std::min(rest.size(), chunk - last.size());
    last.append(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  queued_ += fits;
  return bytes.size() - fits;
}

size_t InputQueue::feed(UserState& state, uint64_t taken) {
  while (!untaken_.empty() && untaken_.front().first < taken) {
    untaken_bytes_ -= untaken_.front().second;
    untaken_.pop_front();
  }
  size_t moved = 0;
  while (queued_ > 0) {
    // The state holds only what the server has not acknowledged.
    const size_t unacked = state.key_bytes();
    if (unacked >= unacknowledged_window || untaken_bytes_ >= untaken_window) break;
    std::string& front = chunks_.front();
    const size_t n = std::min({front.size() - front_used_, unacknowledged_window - unacked,
                               untaken_window - untaken_bytes_});
    if (!state.push_keys(std::string_view(front).substr(front_used_, n))) break;
    untaken_.emplace_back(state.end() - 1, n);
    untaken_bytes_ += n;
    front_used_ += n;
    queued_ -= n;
    moved += n;
    if (front_used_ == front.size()) {
      chunks_.pop_front();
      front_used_ = 0;
    }
  }
  return moved;
}

size_t InputQueue::clear() {
  const size_t dropped = queued_;
  chunks_.clear();
  front_used_ = queued_ = 0;
  return dropped;
}

}  // namespace roam::client
