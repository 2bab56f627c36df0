// HostState diff application against a live client state. The server's
// state comes from a real terminal (text, colours, wide characters, marks,
// scrolling, a title, modes); the client has applied a few diffs of it. The
// fuzz input is applied as a diff to a copy of the client's state: no crash,
// no leak, bounded memory. What applies must be a state the diff format can
// carry faithfully: the diff from the old client state to it, applied to
// another copy of the old state, gives an equal state.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "mux/terminal.h"
#include "protocol/host_state.h"

using namespace roam;

namespace {

struct Live {
  HostState client;
  Live() {
    mux::Terminal term(40, 12);
    HostState server, sent;
    auto step = [&](std::string_view bytes) {
      term.write(bytes);
      server.screen = term.screen();
      std::vector<uint8_t> d;
      server.diff_from(sent, d);
      if (!client.apply(d)) __builtin_trap();
      sent = server;
    };
    step("hello \x1b[1;31mred\x1b[0m \xe4\xb8\xad\xe6\x96\x87 e\xcc\x81\r\n\x1b]0;title\x07");
    for (int i = 0; i < 14; ++i) step("line\r\n");
    step("\x1b[?1h\x1b[?2004h\x1b[5;10H\x1b[38;2;1;2;3mX\x1b[48;5;200mY\x1b[0m");
    server.history_end = 42;
    step("\x1b[2;8r\x1b[3;1H\x1b[M\x1b[r\x07");
    if (!(client == server)) __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Live live;
  const std::span<const uint8_t> input(data, size);

  HostState state = live.client;
  if (!state.apply(input)) return 0;

  std::vector<uint8_t> d;
  state.diff_from(live.client, d);
  HostState copy = live.client;
  if (!copy.apply(d)) __builtin_trap();
  if (!(copy == state)) __builtin_trap();
  return 0;
}
