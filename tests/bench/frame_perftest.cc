// What one frame costs: a session's screen with one changed cell, sent by
// the server's transport (the attachment's tick: the state copied from the
// terminal's screen, the diff, the datagram) and taken in by the client's
// (receive: reassembly, the diff applied to a copy of the state it holds).
// Prints allocations and nanoseconds per tick and per receive for 80x24 and
// 200x60, then the time of a full-repaint diff, over a fake clock and an in-memory channel with acknowledgements
// flowing back, so the transports run as they do on a quiet link.
//
//   frame_perftest [frames]
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "protocol/host_state.h"
#include "protocol/transport.h"
#include "protocol/user_state.h"

namespace {

uint64_t allocations = 0;

}  // namespace

// Out of line, so the compiler does not pair an inlined free() with the
// builtin operator new and warn of a mismatch.
[[gnu::noinline]] void* operator new(size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace {

using namespace roam;
using Clock = std::chrono::steady_clock;

struct Figures {
  double tick_allocs = 0, tick_ns = 0, receive_allocs = 0, receive_ns = 0;
};

Figures measure(int cols, int rows, int frames) {
  const crypto::Key key = crypto::Key::random();
  Transport<HostState, UserState> server(key, 1, crypto::Direction::to_client);
  Transport<UserState, HostState> client(key, 1, crypto::Direction::to_server);
  Screen terminal(cols, rows);
  const Pen pen{Color::index(2), Color::none(), 0};
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const uint32_t ch[2] = {static_cast<uint32_t>('a' + (x + y) % 26), 0};
      terminal.put(x, y, ch, 1, pen);
    }
  // The channel's own buffers are kept, so what is counted is the transports'.
  struct Queue {
    std::vector<std::vector<uint8_t>> slots;
    size_t n = 0;
    void add(std::span<const uint8_t> d) {
      if (n == slots.size()) slots.emplace_back();
      slots[n++].assign(d.begin(), d.end());
    }
  } to_client, to_server;
  const Emit down = [&](std::span<const uint8_t> d) { to_client.add(d); };
  const Emit up = [&](std::span<const uint8_t> d) { to_server.add(d); };
  uint64_t now = 1'000'000;
  Figures f;
  uint64_t ticks = 0, receives = 0;
  const int warmup = 50;
  for (int i = 0; i < warmup + frames; ++i) {
    const bool counted = i >= warmup;
    const uint32_t ch[2] = {static_cast<uint32_t>('A' + i % 26), 0};
    terminal.put(i % cols, (i / cols) % rows, ch, 1, pen);
    now += 300;  // beyond the frame interval and the delayed ack
    // The attachment's tick, as Attachments::service does it.
    uint64_t a0 = allocations;
    auto t0 = Clock::now();
    server.local().screen = terminal;
    server.tick(now, down);
    auto t1 = Clock::now();
    if (counted) {
      f.tick_allocs += static_cast<double>(allocations - a0);
      f.tick_ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
      ++ticks;
    }
    for (size_t k = 0; k < to_client.n; ++k) {
      const auto& d = to_client.slots[k];
      a0 = allocations;
      t0 = Clock::now();
      (void)client.receive(d, now);
      t1 = Clock::now();
      if (counted) {
        f.receive_allocs += static_cast<double>(allocations - a0);
        f.receive_ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
        ++receives;
      }
    }
    to_client.n = 0;
    client.tick(now + 150, up);  // its acknowledgement
    for (size_t k = 0; k < to_server.n; ++k) (void)server.receive(to_server.slots[k], now + 150);
    to_server.n = 0;
  }
  if (client.remote().screen != terminal) {
    fmt::print(stderr, "frame_perftest: the client's screen differs from the server's\n");
    std::exit(1);
  }
  f.tick_allocs /= static_cast<double>(ticks);
  f.tick_ns /= static_cast<double>(ticks);
  f.receive_allocs /= static_cast<double>(receives);
  f.receive_ns /= static_cast<double>(receives);
  return f;
}

// A full repaint (a new client, a resize) of a screen of text: the diff's
// worst case, which used to be a wall-clock bound in the unit tests.
double repaint_us(int cols, int rows) {
  HostState full;
  full.screen.resize(cols, rows);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols - 2; ++x) {
      const uint32_t ch[2] = {static_cast<uint32_t>(x % 6 == 5 ? ' ' : 'a' + (x * 7 + y) % 26), 0};
      full.screen.put(x, y, ch, 1, {});
    }
  HostState fresh;
  std::vector<uint8_t> out;
  full.diff_from(fresh, out);
  const int rounds = 2000;
  const auto start = Clock::now();
  for (int i = 0; i < rounds; ++i) {
    out.clear();
    full.diff_from(fresh, out);
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / rounds;
}

}  // namespace

int main(int argc, char** argv) {
  const int frames = argc > 1 ? std::atoi(argv[1]) : 2000;
  fmt::print("one changed cell per frame, {} frames\n", frames);
  fmt::print("{:>8}  {:>14} {:>12}  {:>16} {:>14}\n", "screen", "tick allocs", "tick ns", "receive allocs",
             "receive ns");
  for (auto [c, r] : {std::pair{80, 24}, std::pair{200, 60}}) {
    const Figures f = measure(c, r, frames);
    fmt::print("{:>8}  {:>14.1f} {:>12.0f}  {:>16.1f} {:>14.0f}\n", fmt::format("{}x{}", c, r), f.tick_allocs,
               f.tick_ns, f.receive_allocs, f.receive_ns);
  }
  for (auto [c, r] : {std::pair{80, 24}, std::pair{200, 60}})
    fmt::print("full repaint diff {}x{}: {:.1f} us\n", c, r, repaint_us(c, r));
}
