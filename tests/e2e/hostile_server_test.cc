// A malicious server against the client's memory: the real `roam connect`
// talks real UDP and real AES-OCB to a scripted server that holds the key
// it was given, and that sends tiny diffs asking the client to hold a lot:
// history replies it never lets go of, replies to nothing the client asked,
// a screen over the size limit, and full screens in every state it can
// make the client keep. The client's resident memory must stay bounded, and
// what passes a limit ends the connection with a clear message and the
// terminal restored.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>

#include "protocol/host_state.h"
#include "protocol/limits.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/scripted_server.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;
using roam::HistoryReply;
using roam::HostState;
using roam::Instruction;

namespace {

// Far above what the bounded client holds (~64 MiB of received states, plus
// its display and cache), far below what the attacks reach without bounds
// (each grows the client by 16 MB or more per diff). Under ASan freed memory
// waits in quarantine before it is reused.
#ifdef __SANITIZE_ADDRESS__
constexpr long long rss_limit_kb = 600 * 1024;
#else
constexpr long long rss_limit_kb = 200 * 1024;
#endif

// `rows` rows of 1000 'x': 16 KB each on the client, a few bytes on the wire.
HistoryReply big_reply(uint64_t request, size_t rows) {
  HistoryReply r;
  r.kind = HistoryReply::Kind::lines;
  r.request = request;
  r.first = 0;
  r.complete = true;
  roam::Row row;
  row.cells.assign(1000, roam::Cell{'x', roam::Color::none(), roam::Color::none(), 0, 1});
  r.rows.assign(rows, row);
  return r;
}

long long rss_kb(const TerminalDriver& client) { return proc_status_kb(client.pid(), "VmRSS"); }
long long peak_kb(const TerminalDriver& client) { return proc_status_kb(client.pid(), "VmHWM"); }

// The attacker's opening: a screen the client shows, once it is heard from.
struct Opening {
  ScriptedServer server;
  std::unique_ptr<TerminalDriver> client = connect_client(server.line(), server.port());
  HostState state;
  Opening() {
    REQUIRE(wait_until([&] { return server.pump(50ms); }, 20s));
    write_text(state.screen, 0, "hostile-server");
    server.send(0, 1, HostState{}, state);
    REQUIRE(client->wait_for_text("hostile-server"));
  }
};

// Floods the client with diffs made by `next(k)` until `count` are sent,
// the client exits, or its memory passes the limit; returns the highest RSS seen.
long long flood(Opening& o, int count, const std::function<void(int)>& next) {
  long long highest = 0;
  for (int k = 0; k < count; ++k) {
    next(k);
    o.client->pump(1ms);
    const long long rss = rss_kb(*o.client);
    if (rss < 0) break;  // it exited
    highest = std::max(highest, rss);
    if (rss > rss_limit_kb) break;  // no point in going on: it is not bounded
  }
  return std::max(highest, peak_kb(*o.client));
}

// Waits for the client to end; its highest RSS meanwhile.
long long until_exit(TerminalDriver& client) {
  long long highest = 0;
  wait_until([&] {
    client.pump(1ms);
    const long long rss = rss_kb(client);
    highest = std::max(highest, std::max(rss, peak_kb(client)));
    return rss < 0;
  }, 20s);
  return highest;
}

void check_ended_clearly(TerminalDriver& client) {
  const auto status = client.wait_exit(20s);
  REQUIRE(status.has_value());
  CHECK(*status == 1);
  CHECK_MESSAGE(contains(client.output(), "roam: the server sent more than a client holds"), client.output());
  CHECK_FALSE(client.raw_mode());
}

}  // namespace

TEST_CASE("a hostile server whose history replies never go (begin 0 forever) ends the connection; memory stays bounded") {
  Opening o;
  HostState prev = o.state;
  uint64_t num = 1;
  const long long highest = flood(o, 400, [&](int k) {
    HostState next = prev;
    for (int i = 0; i < 64; ++i) next.push_reply(big_reply(static_cast<uint64_t>(k), 1));
    o.server.send(num, num + 1, prev, next);
    ++num;
    prev = std::move(next);
  });
  MESSAGE("client RSS under a never-forgotten reply flood: ", highest / 1024, " MB (limit ", rss_limit_kb / 1024,
          " MB)");
  CHECK(highest < rss_limit_kb);
  until_exit(*o.client);
  check_ended_clearly(*o.client);
}

TEST_CASE("a hostile server answering requests never made is ignored; the client stays connected and bounded") {
  Opening o;
  HostState prev = o.state;
  uint64_t num = 1;
  const long long highest = flood(o, 300, [&](int k) {
    HostState next = prev;
    next.forget_acknowledged(prev);  // as an honest server does: these never pile up in the state
    for (int i = 0; i < 64; ++i) next.push_reply(big_reply(1'000'000 + static_cast<uint64_t>(k), 16));
    o.server.send(num, num + 1, prev, next);
    ++num;
    prev = std::move(next);
  });
  MESSAGE("client RSS under unsolicited replies: ", highest / 1024, " MB (limit ", rss_limit_kb / 1024, " MB)");
  CHECK(highest < rss_limit_kb);
  // Still connected, still drawing.
  HostState last = prev;
  write_text(last.screen, 1, "still-here");
  o.server.send(num, num + 1, prev, last);
  CHECK(o.client->wait_for_text("still-here"));
  CHECK_FALSE(o.client->wait_exit(100ms).has_value());
}

TEST_CASE("a hostile server's screen over the size limit ends the connection with a clear message") {
  Opening o;
  // Size section 4096x2048, then 2048 blank rows: 2 KB that would be 128 MB.
  std::vector<uint8_t> diff{1, 1};
  std::vector<uint8_t> size{0x80, 0x20, 0x80, 0x10};
  diff.push_back(static_cast<uint8_t>(size.size()));
  diff.insert(diff.end(), size.begin(), size.end());
  std::vector<uint8_t> rows{1, 0, 0x80, 0x10};
  rows.insert(rows.end(), 2048, 0);
  diff.push_back(3);
  diff.push_back(static_cast<uint8_t>(0x80 | (rows.size() & 0x7f)));
  diff.push_back(static_cast<uint8_t>(rows.size() >> 7));
  diff.insert(diff.end(), rows.begin(), rows.end());
  diff.push_back(0);
  Instruction in;
  in.old_num = 1;
  in.new_num = 2;
  in.diff = diff;
  o.server.send(in);
  const long long highest = until_exit(*o.client);
  MESSAGE("client RSS before it refused a 4096x2048 screen: ", highest / 1024, " MB");
  CHECK(highest < rss_limit_kb);
  check_ended_clearly(*o.client);
}

TEST_CASE("a hostile server making the client keep many full screens cannot pass the received-state budget") {
  Opening o;
  // Every state from the first one, and never a throwaway: without a bound
  // the client keeps 16 states of 1000x1000 cells (16 MB each), none shared.
  const HostState& base = o.state;
  auto make = [&](uint64_t n) {
    HostState s = base;
    s.screen.resize(roam::limits::max_cols - static_cast<int>(n % 2), roam::limits::max_rows);
    write_text(s.screen, 0, "hostile-server");
    return s;
  };
  uint64_t num = 1;
  const long long highest = flood(o, 200, [&](int) {
    Instruction in;
    in.old_num = 1;
    in.new_num = ++num;
    make(num).diff_from(base, in.diff);
    o.server.send(in);
  });
  MESSAGE("client RSS holding full screens: ", highest / 1024, " MB (limit ", rss_limit_kb / 1024, " MB)");
  CHECK(highest < rss_limit_kb);
  // The newest state it took is kept: the client still follows the server.
  uint64_t acked = 0;
  wait_until([&] {
    o.server.pump(300ms);
    const bool settled = o.server.acked() == acked;
    acked = o.server.acked();
    return settled;
  }, 10s);
  REQUIRE(acked >= 1);
  const HostState held = acked == 1 ? base : make(acked);
  HostState last;
  write_text(last.screen, 1, "still-here");
  o.server.send(acked, num + 1, held, last);
  CHECK(o.client->wait_for_text("still-here"));
}
