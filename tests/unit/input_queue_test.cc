#include "client/input_queue.h"

#include <doctest/doctest.h>

#include <string>

using namespace roam;
using namespace roam::client;

namespace {

// The server's side: acknowledges (forgets) events and says which the program took.
void acknowledge(UserState& state) { state.forget_before(state.end()); }

std::string keys_of(const UserState& state) {
  std::string out;
  for (uint64_t i = state.begin(); i < state.end(); ++i)
    if (state.at(i).kind == UserEvent::Kind::keys) out += state.at(i).keys;
  return out;
}

}  // namespace

TEST_CASE("typing goes straight into the state as one event") {
  InputQueue q;
  UserState state;
  CHECK(q.push("ls\r") == 0);
  CHECK(q.feed(state, 0) == 3);
  CHECK(q.queued() == 0);
  REQUIRE(state.end() == 1);
  CHECK(state.at(0).keys == "ls\r");
}

TEST_CASE("a paste moves in chunks, never more unacknowledged than the window") {
  InputQueue q;
  UserState state;
  std::string paste(3 << 20, 'x');
  for (size_t i = 0; i < paste.size(); ++i) paste[i] = static_cast<char>('a' + i % 26);
  CHECK(q.push(paste) == 0);
  std::string arrived;
  uint64_t taken = 0;
  for (int round = 0; q.queued() > 0 || state.key_bytes() > 0; ++round) {
    REQUIRE(round < 10'000);
    q.feed(state, taken);
    CHECK(state.key_bytes() <= InputQueue::unacknowledged_window);
    for (uint64_t i = state.begin(); i < state.end(); ++i) CHECK(state.at(i).keys.size() <= InputQueue::chunk);
    arrived += keys_of(state);
    acknowledge(state);
    taken = state.end();  // the program reads at once
  }
  CHECK(arrived == paste);
}

TEST_CASE("while the program takes nothing, at most the untaken window leaves the queue") {
  InputQueue q;
  UserState state;
  CHECK(q.push(std::string(4 << 20, 'p')) == 0);
  size_t moved = 0;
  for (int round = 0; round < 1000; ++round) {
    moved += q.feed(state, 0);
    acknowledge(state);
  }
  CHECK(moved == InputQueue::untaken_window);
  // The program takes it: more may go.
  CHECK(q.feed(state, state.end()) > 0);
}

TEST_CASE("input beyond the queue's limit is refused and counted; clear drops the rest") {
  InputQueue q;
  const std::string piece(1 << 20, 'q');
  size_t refused = 0;
  for (size_t i = 0; i < InputQueue::max_queued / piece.size() + 3; ++i) refused += q.push(piece);
  CHECK(q.queued() == InputQueue::max_queued);
  CHECK(refused == 3 * piece.size());
  CHECK(q.clear() == InputQueue::max_queued);
  CHECK(q.queued() == 0);
  UserState state;
  CHECK(q.feed(state, 0) == 0);
}
