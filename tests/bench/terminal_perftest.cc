// How fast mux::Terminal eats program output: ~50 MB of lines 0-200
// characters long, every fifth one coloured, fed in 64 KiB chunks to an 80x24
// terminal, as `cat` of a big log would. For scale, the same input through
// libvterm's state layer with callbacks that do nothing: the bound we work
// under.
//
//   terminal_perftest [megabytes]
#include <vterm.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "mux/terminal.h"

namespace {

constexpr size_t chunk = 64 << 10;

// Deterministic input: the same bytes on every run and machine.
std::string make_input(size_t bytes) {
  std::string out;
  out.reserve(bytes + 512);
  uint64_t x = 0x9e3779b97f4a7c15;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (uint64_t line = 0; out.size() < bytes; ++line) {
    const bool coloured = line % 5 == 0;
    if (coloured) fmt::format_to(std::back_inserter(out), "\x1b[1;38;5;{}m", next() % 256);
    const size_t len = next() % 201;
    for (size_t i = 0; i < len; ++i) out.push_back(static_cast<char>(' ' + next() % 95));
    if (coloured) out += "\x1b[0m";
    out += "\r\n";
  }
  return out;
}

// Seconds to feed `input` to `write` in chunks.
double time_feed(std::string_view input, const std::function<void(std::string_view)>& write) {
  const auto start = std::chrono::steady_clock::now();
  for (size_t off = 0; off < input.size(); off += chunk) write(input.substr(off, chunk));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double libvterm_alone(std::string_view input) {
  static const VTermStateCallbacks nothing = {
      .putglyph = [](VTermGlyphInfo*, VTermPos, void*) { return 1; },
      .movecursor = [](VTermPos, VTermPos, int, void*) { return 1; },
      .scrollrect = [](VTermRect, int, int, void*) { return 1; },
      .moverect = [](VTermRect, VTermRect, void*) { return 1; },
      .erase = [](VTermRect, int, void*) { return 1; },
      .initpen = [](void*) { return 1; },
      .setpenattr = [](VTermAttr, VTermValue*, void*) { return 1; },
      .settermprop = [](VTermProp, VTermValue*, void*) { return 1; },
      .bell = [](void*) { return 1; },
      .resize = [](int, int, VTermPos*, void*) { return 1; },
      .setlineinfo = [](int, const VTermLineInfo*, const VTermLineInfo*, void*) { return 1; },
  };
  VTerm* vt = vterm_new(24, 80);
  vterm_set_utf8(vt, 1);
  VTermState* state = vterm_obtain_state(vt);
  vterm_state_set_callbacks(state, &nothing, nullptr);
  vterm_state_reset(state, 1);
  const double took = time_feed(input, [vt](std::string_view b) { vterm_input_write(vt, b.data(), b.size()); });
  vterm_free(vt);
  return took;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 50;
  const std::string input = make_input(megabytes << 20);
  const double mb = static_cast<double>(input.size()) / (1 << 20);

  roam::mux::Terminal term(80, 24);
  uint64_t scrolled = 0;
  term.on_scrollback = [&scrolled](const roam::Row&) { ++scrolled; };
  const double ours = time_feed(input, [&term](std::string_view b) { term.write(b); });
  const double bound = libvterm_alone(input);

  fmt::print("terminal_perftest: {:.1f} MB in {:.3f} s = {:.1f} MB/s ({} rows to scrollback)\n", mb, ours,
             mb / ours, scrolled);
  fmt::print("libvterm state layer alone: {:.1f} MB/s; mux::Terminal runs at {:.0f}% of it\n", mb / bound,
             100 * bound / ours);
  return 0;
}
