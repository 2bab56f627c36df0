// What re-wrapping costs on a width change (Screen::resize with Reflow):
// a screen full of long lines narrowed and widened again, each row pushed off
// the top handed to a sink as History would get it. Reflow runs only on a
// resize, so this is a latency, not a throughput: the time one resize holds
// the daemon's loop.
//
//   reflow_perftest
#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "protocol/screen.h"

namespace {

// A screen of `rows` lines, each `cols` printable characters, soft-wrapped
// nowhere: what a log at full width leaves.
roam::Screen full_screen(int cols, int rows) {
  roam::Screen s(cols, rows);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const uint32_t ch[] = {static_cast<uint32_t>('!' + (x + y) % 94), 0};
      s.put(x, y, ch, 1, {});
    }
  auto c = s.cursor();
  c.y = rows - 1;
  s.set_cursor(c);
  return s;
}

void measure(int cols, int rows, int narrow, int repeats) {
  double narrowing = 0, widening = 0;
  uint64_t pushed = 0;
  for (int i = 0; i < repeats; ++i) {
    roam::Screen s = full_screen(cols, rows);
    const auto t0 = std::chrono::steady_clock::now();
    s.resize(narrow, rows, [&](const roam::Row&) { ++pushed; });
    const auto t1 = std::chrono::steady_clock::now();
    s.resize(cols, rows, [&](const roam::Row&) { ++pushed; });
    const auto t2 = std::chrono::steady_clock::now();
    narrowing += std::chrono::duration<double>(t1 - t0).count();
    widening += std::chrono::duration<double>(t2 - t1).count();
  }
  const double cells = static_cast<double>(cols) * rows;
  fmt::print("{}x{} -> {} cols: {:.2f} ms ({:.1f} ns/cell, {} rows to history), back: {:.2f} ms\n", cols, rows,
             narrow, narrowing / repeats * 1e3, narrowing / repeats / cells * 1e9, pushed / repeats,
             widening / repeats * 1e3);
}

}  // namespace

int main() {
  measure(200, 50, 40, 50);     // the case, a big window
  measure(200, 50, 80, 50);
  measure(1000, 1000, 2, 3);    // the biggest a client may ask for, to the smallest
  measure(4096, 2048, 1, 1);    // Screen's own limits
}
