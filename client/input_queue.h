// Keys on their way to the session. Typing goes straight into the
// synchronised state (UserState); a paste bigger than the link carries at
// once waits here, outside it, and moves in as chunks while two windows
// allow:
//   - unacknowledged bytes (what a resend after loss carries in one burst,
//     so it must fit the socket buffers on the way): 64 KiB;
//   - bytes the program has not taken yet (HostState::echo_ack), which the
//     server holds for it: 1 MiB.
// So every diff is small whatever the paste, and the server's memory is
// bounded by the client's windows. The queue itself holds at most 64 MiB;
// input beyond that is refused and counted, for the user to be told.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "protocol/user_state.h"

namespace roam::client {

class InputQueue {
 public:
  static constexpr size_t max_queued = 64u << 20;
  static constexpr size_t chunk = 16u << 10;
  static constexpr size_t unacknowledged_window = 64u << 10;
  static constexpr size_t untaken_window = 1u << 20;

  // Appends keys; returns how many bytes did not fit (and were dropped).
  size_t push(std::string_view bytes);
  // Moves into `state` what the windows allow. `taken`: the events the
  // program has taken (the server's echo_ack). Returns the bytes moved.
  size_t feed(UserState& state, uint64_t taken);

  size_t queued() const { return queued_; }
  // Drops what waits here (leaving the session); returns how much it was.
  size_t clear();

 private:
  std::deque<std::string> chunks_;  // each at most `chunk` bytes
  size_t front_used_ = 0;           // bytes of chunks_.front() already moved
  size_t queued_ = 0;
  // Keys events moved into the state and not yet taken: (event number, bytes).
  std::deque<std::pair<uint64_t, size_t>> untaken_;
  size_t untaken_bytes_ = 0;
};

}  // namespace roam::client
