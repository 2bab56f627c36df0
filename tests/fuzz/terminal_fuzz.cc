// The terminal and the state sync behind it: arbitrary bytes go into a
// mux::Terminal; after each chunk the server's HostState takes its screen and
// diffs it from the state the client last acknowledged; the client applies
// that to a copy of its state, which must then equal the server's. The client
// acknowledges some states and "loses" others, so diffs span several writes.
//
// Input: chunks separated by 0xff (never in UTF-8; at most 64 chunks); a chunk that starts with
// 0xfe (never in UTF-8 either) and two more bytes is a resize instead, to
// (1 + b1 % 160) x (1 + b2 % 60). A seed is a plain terminal byte stream.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "mux/terminal.h"
#include "protocol/host_state.h"

using namespace roam;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mux::Terminal term(80, 24);
  size_t scrolled = 0, replied = 0;
  term.on_scrollback = [&](const Row& row) { scrolled += row.cells.size(); };
  term.on_reply = [&](std::string_view bytes) { replied += bytes.size(); };

  HostState server, acked, client;  // acked: the server's copy of what the client holds
  std::vector<uint8_t> d;
  size_t chunk_no = 0;
  for (size_t at = 0; at <= size; ++chunk_no) {
    size_t end = at;
    // At most 64 chunks (the rest is the last): each costs a diff and a copy.
    while (end < size && (data[end] != 0xff || chunk_no == 63)) ++end;
    const std::string_view chunk(reinterpret_cast<const char*>(data) + at, end - at);
    at = end + 1;
    if (chunk.size() >= 3 && static_cast<uint8_t>(chunk[0]) == 0xfe) {
      term.resize(1 + static_cast<uint8_t>(chunk[1]) % 160, 1 + static_cast<uint8_t>(chunk[2]) % 60);
    } else {
      term.write(chunk);
    }
    server.screen = term.screen();
    server.history_end += chunk.size() & 3;
    d.clear();
    server.diff_from(acked, d);
    HostState copy = client;
    if (auto ok = copy.apply(d); !ok) {
      std::fprintf(stderr, "terminal_fuzz: the client refused a diff of chunk %zu: %s\n", chunk_no,
                   std::string(to_string(ok.error())).c_str());
      std::abort();
    }
    if (!(copy == server)) {
      std::fprintf(stderr, "terminal_fuzz: the client's screen differs from the server's after chunk %zu\n",
                   chunk_no);
      std::abort();
    }
    // Acknowledged, or lost: the next diff is then from an older state.
    if (chunk.size() % 3 != 1) {
      client = std::move(copy);
      acked = server;
    }
  }
  return 0;
}
