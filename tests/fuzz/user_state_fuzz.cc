// UserState diff application against a live state: the server holds events
// the client already sent (keys, a resize, a detach), the fuzz input is
// applied to a copy of it. What applies must leave a consistent state: the
// diff from the old state to it, applied to another copy of the old state,
// gives the same events.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/user_state.h"

using namespace roam;

namespace {

// The client's state and the server's copy of it, synced by diffs.
struct Live {
  UserState client, server;
  Live() {
    client.push_keys("ls -l\r");
    sync();
    client.push_resize(120, 40);
    client.push_keys("\x1b[A\x1b[B");
    sync();
    client.push_keys("exit\r");
    client.push_detach();
    sync();
    server.forget_before(2);  // as after an acknowledgement
  }
  void sync() {
    std::vector<uint8_t> d;
    client.diff_from(server, d);
    if (!server.apply(d)) __builtin_trap();
  }
};

bool same_events(const UserState& a, const UserState& b, uint64_t from) {
  if (a.end() != b.end()) return false;
  for (uint64_t i = from; i < a.end(); ++i)
    if (!(a.at(i) == b.at(i))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Live live;
  const std::span<const uint8_t> input(data, size);

  UserState state = live.server;
  if (!state.apply(input)) return 0;
  if (state.end() < live.server.end()) __builtin_trap();  // events are never taken back
  // What was there stays as it was.
  for (uint64_t i = live.server.begin(); i < live.server.end(); ++i)
    if (!(state.at(i) == live.server.at(i))) __builtin_trap();

  std::vector<uint8_t> d;
  state.diff_from(live.server, d);
  UserState copy = live.server;
  if (!copy.apply(d)) __builtin_trap();
  if (!same_events(copy, state, live.server.begin())) __builtin_trap();

  // The same diff twice (a retransmission) changes nothing.
  UserState twice = state;
  if (!twice.apply(input) || !same_events(twice, state, state.begin())) __builtin_trap();
  return 0;
}
