#include "protocol/host_state.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "protocol/wire.h"

// The largest single allocation since it was last reset: shows that huge
// declared sizes are refused before anything is allocated for them.
namespace {
size_t largest_allocation = 0;
}  // namespace

// Out of line, so the compiler does not pair an inlined free() with the
// builtin operator new and warn of a mismatch.
[[gnu::noinline]] void* operator new(std::size_t n) {
  largest_allocation = std::max(largest_allocation, n);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using roam::Color;
using roam::Errc;
using roam::HistoryReply;
using roam::HostState;
using roam::Pen;
using roam::Rect;
using roam::Screen;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes diff(const HostState& from, const HostState& to) {
  Bytes out;
  to.diff_from(from, out);
  return out;
}

// What a client holding `from` has once it applies the diff to `to`.
HostState synced(const HostState& from, const HostState& to) {
  HostState client = from;
  const Bytes d = diff(from, to);
  const auto done = client.apply(d);
  REQUIRE(done.has_value());
  return client;
}

void type(Screen& s, int x, int y, std::string_view text, const Pen& pen = {}) {
  for (char ch : text) {
    const uint32_t chars[] = {static_cast<unsigned char>(ch), 0};
    s.put(x++, y, chars, 1, pen);
  }
}

// One line of output at the bottom, as a shell prints it: the screen scrolls up.
void print_line(Screen& s, std::string_view text, const Pen& pen = {}) {
  s.scroll({0, 0, s.rows(), s.cols()}, -1, 0, Color::none());
  type(s, 0, s.rows() - 1, text, pen);
}

std::string filler(int n, int seed) {
  std::string line;
  for (int i = 0; static_cast<int>(line.size()) < n; ++i)
    line += "word" + std::to_string((seed * 31 + i * 7) % 1000) + " ";
  line.resize(static_cast<size_t>(n));
  return line;
}

// A full screen of plain lines of text.
HostState full_of_text(int cols, int rows) {
  HostState h;
  h.screen.resize(cols, rows);
  for (int y = 0; y < rows; ++y) type(h.screen, 0, y, filler(cols - 2, y));
  return h;
}

// The size of a diff that sends every row.
size_t repaint_size(const HostState& h) {
  HostState other;
  other.screen.resize(h.screen.cols() + 1, h.screen.rows());
  return diff(other, h).size();
}

struct Random {
  std::mt19937_64 gen;
  explicit Random(uint64_t seed) : gen(seed) {}

  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(gen); }
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); }
  bool chance(int percent) { return below(100) < percent; }

  Color color() {
    switch (below(4)) {
      case 0: return Color::index(static_cast<uint8_t>(below(256)));
      case 1: return Color::from_rgb(static_cast<uint8_t>(below(256)), static_cast<uint8_t>(below(256)),
                                     static_cast<uint8_t>(below(256)));
      default: return Color::none();
    }
  }
  Pen pen() {
    if (chance(40)) return {};
    return {color(), color(), static_cast<uint16_t>(chance(50) ? 0 : below(1 << 9))};
  }

  // Writes a random glyph at (x, y), combining marks included; returns its width.
  int glyph(Screen& s, int x, int y, const Pen& pen) {
    uint32_t chars[4] = {};
    int width = 1;
    switch (below(12)) {
      case 0: chars[0] = static_cast<uint32_t>(0x4e00 + below(0x5000)), width = 2; break;
      case 1: chars[0] = static_cast<uint32_t>(0x1f600 + below(0x40)), width = 2; break;
      case 2: chars[0] = static_cast<uint32_t>(0xa0 + below(0x200)); break;
      case 3: chars[0] = ' '; break;
      default: chars[0] = static_cast<uint32_t>(0x21 + below(0x5e));
    }
    if (chance(8)) {
      chars[1] = static_cast<uint32_t>(0x300 + below(0x70));
      if (chance(30)) chars[2] = static_cast<uint32_t>(0x300 + below(0x70));
    }
    s.put(x, y, chars, width, pen);
    return width;
  }

  void text(Screen& s, int x, int y, int len) {
    Pen p = pen();
    for (int i = 0; i < len && x < s.cols(); ++i) {
      if (chance(10)) p = pen();
      x += glyph(s, x, y, p);
    }
  }

  Rect rect(const Screen& s) {
    const int top = below(s.rows()), left = below(s.cols());
    return {top, left, between(top + 1, s.rows()), between(left + 1, s.cols())};
  }

  roam::HistoryReply reply(const Screen& s) {
    roam::HistoryReply r;
    r.request = static_cast<uint64_t>(below(1000));
    r.complete = chance(50);
    if (chance(70)) {
      r.first = static_cast<uint64_t>(below(100000));
      for (int n = below(5); n > 0; --n) r.rows.push_back(s.row(below(s.rows())));
    } else {
      r.kind = roam::HistoryReply::Kind::matches;
      for (int n = below(70); n > 0; --n) r.matches.push_back(static_cast<uint64_t>(below(1 << 30)));
    }
    return r;
  }

  // One thing a terminal does to its state.
  void mutate(HostState& h) {
    Screen& s = h.screen;
    const int cols = s.cols(), rows = s.rows();
    const int what = below(100);
    if (what < 35) {
      text(s, below(cols), below(rows), between(1, cols));
    } else if (what < 50) {
      // New lines at the bottom: the whole screen scrolls up.
      const int k = between(1, std::min(rows, 6));
      s.scroll({0, 0, rows, cols}, -k, 0, chance(85) ? Color::none() : color());
      for (int y = rows - k; y < rows; ++y)
        if (chance(80)) text(s, 0, y, between(1, cols));
    } else if (what < 56) {
      // A scroll region, either way.
      const int top = below(rows), bottom = between(top + 1, rows);
      const int dy = between(1, bottom - top) * (chance(50) ? 1 : -1);
      s.scroll({top, 0, bottom, cols}, dy, 0, chance(85) ? Color::none() : color());
    } else if (what < 59) {
      s.scroll(rect(s), between(-3, 3), between(-3, 3), color());
    } else if (what < 61) {
      const Rect src = rect(s);
      const int dy = between(-src.top, rows - src.bottom), dx = between(-src.left, cols - src.right);
      s.move({src.top + dy, src.left + dx, src.bottom + dy, src.right + dx}, src);
    } else if (what < 66) {
      s.erase(rect(s), chance(80) ? Color::none() : color());
    } else if (what < 69) {
      s.set_wrapped(below(rows), chance(50));
    } else if (what < 75) {
      roam::Cursor c;
      c.x = below(cols);
      c.y = below(rows);
      c.visible = chance(80);
      c.blink = chance(50);
      c.shape = static_cast<roam::CursorShape>(below(3));
      s.set_cursor(c);
    } else if (what < 78) {
      roam::Modes m = s.modes();
      if (chance(30)) m.alternate_screen = !m.alternate_screen;
      m.app_cursor_keys = chance(50);
      m.app_keypad = chance(50);
      m.bracketed_paste = chance(50);
      m.focus_events = chance(50);
      m.reverse_video = chance(10);
      m.mouse_tracking = static_cast<roam::MouseTracking>(below(4));
      m.mouse_encoding = static_cast<roam::MouseEncoding>(below(4));
      s.set_modes(m);
    } else if (what < 80) {
      s.set_title("title " + std::to_string(below(1000)) + (chance(20) ? " \xe2\x9c\x93" : ""));
    } else if (what < 81) {
      s.set_icon_name("icon " + std::to_string(below(1000)));
    } else if (what < 83) {
      for (int n = between(1, 3); n > 0; --n) s.ring_bell();
    } else if (what < 85) {
      const char* sel[] = {"", "c", "p", "s0", "cp"};
      std::string data(static_cast<size_t>(4 * below(20)), 'A');
      for (int n = between(1, 2); n > 0; --n) s.set_clipboard(sel[below(5)], data);
    } else if (what < 86) {
      s.resize(between(1, 120), between(1, 40));
    } else if (what < 88) {
      h.exited = chance(50);
      h.exit_code = between(-300, 300);
      h.killed = h.exited && chance(30);
    } else if (what < 90) {
      h.history_end += static_cast<uint64_t>(below(100));
      if (chance(30)) h.history_begin = h.history_end - static_cast<uint64_t>(below(static_cast<int>(std::min<uint64_t>(h.history_end, 50)) + 1));
      if (chance(50)) h.echo_ack += static_cast<uint64_t>(below(5));
    } else if (what < 94) {
      h.push_reply(reply(s));
    } else if (what < 96 && !h.replies.empty()) {
      // The client acknowledged a state holding the first few.
      HostState acked;
      acked.replies_end = h.replies_begin() + static_cast<uint64_t>(between(1, static_cast<int>(h.replies.size())));
      h.forget_acknowledged(acked);
    } else {
      s.set_row(below(rows), s.row(below(rows)));
    }
  }
};

Bytes section(uint64_t tag, const Bytes& body) {
  Bytes out;
  roam::wire::Writer w(out);
  w.varint(tag);
  w.bytes(roam::wire::Bytes(body));
  return out;
}

// A diff made of the given sections.
Bytes make_diff(std::initializer_list<Bytes> sections, bool end = true) {
  Bytes out{1};
  for (const Bytes& s : sections) out.insert(out.end(), s.begin(), s.end());
  if (end) out.push_back(0);
  return out;
}

Bytes varints(std::initializer_list<uint64_t> values) {
  Bytes out;
  roam::wire::Writer w(out);
  for (uint64_t v : values) w.varint(v);
  return out;
}

}  // namespace

TEST_CASE("a client built from diffs follows random server states") {
  for (uint64_t seed : {1, 2, 3}) {
    Random rnd(seed);
    HostState server;
    if (seed == 3) server.screen.resize(200, 60);
    // States the client acknowledged: the server's copy and the client's own,
    // made by applying diffs, so its row versions are its own.
    struct Acked {
      HostState server, client;
    };
    HostState client = server;
    for (int y = 0; y < client.screen.rows(); ++y) client.screen.set_row(y, client.screen.row(y));
    REQUIRE(client.screen.version(0) != server.screen.version(0));
    std::vector<Acked> acked{{server, client}};
    Bytes d;
    for (int i = 0; i < 2500; ++i) {
      for (int n = rnd.between(1, 6); n > 0; --n) rnd.mutate(server);
      // Diff from any recent acknowledged state, as when diffs are lost.
      const Acked& base = acked[static_cast<size_t>(rnd.below(static_cast<int>(acked.size())))];
      d.clear();
      server.diff_from(base.server, d);
      client = base.client;
      const auto done = client.apply(d);
      REQUIRE(done.has_value());
      REQUIRE(client == server);
      // Applying the same diff again to the same base gives the same state.
      HostState again = base.client;
      REQUIRE(again.apply(d).has_value());
      REQUIRE(again == server);
      if (rnd.chance(60)) {
        acked.push_back({server, std::move(client)});
        if (acked.size() > 4) acked.erase(acked.begin());
      }
    }
  }
}

TEST_CASE("row content survives the trip exactly") {
  HostState server;
  Screen& s = server.screen;
  const uint32_t wide[] = {0x4e2d, 0};
  const uint32_t marked[] = {'e', 0x301, 0x302, 0};
  const uint32_t control[] = {0x7, 0};
  const uint32_t emoji[] = {0x1f600, 0xfe0f, 0};
  s.put(0, 0, wide, 2, {Color::index(200), Color::from_rgb(1, 2, 3), roam::attr_bold | roam::attr_strike});
  s.put(2, 0, marked, 1, {});
  s.put(3, 0, control, 1, {});
  s.put(4, 0, emoji, 2, {Color::from_rgb(255, 255, 255), Color::none(), 2 << roam::attr_underline_shift});
  for (int x = 10; x < 30; x += 2) s.put(x, 0, wide, 2, {});
  // What issue 16 added to the pen: palette colours below 16, underline
  // colours and styles, protection.
  const uint32_t x[] = {'x', 0};
  s.put(31, 0, x, 1, {Color::index256(3), Color::index256(12), roam::underline_dotted << roam::attr_underline_shift,
                      Color::index(196)});
  s.put(32, 0, x, 1, {Color::none(), Color::none(), roam::attr_protected, Color::from_rgb(1, 2, 3)});
  s.put(33, 0, wide, 2, {Color::none(), Color::none(), 0, Color::index(7)});
  type(s, 40, 0, "========================");
  s.erase({1, 5, 2, 60}, Color::index(4));
  s.set_wrapped(0, true);
  s.set_wrapped(2, true);
  const HostState client = synced(HostState{}, server);
  CHECK(client == server);
  CHECK(client.screen.row(0) == s.row(0));
  CHECK(client.screen.row(1) == s.row(1));
}

TEST_CASE("a one-row change is small") {
  HostState old = full_of_text(80, 24);
  HostState now = old;
  Screen& s = now.screen;
  const Pen dir{Color::index(12), Color::none(), roam::attr_bold};
  const Pen exe{Color::index(10), Color::none(), roam::attr_bold};
  int x = 0;
  for (auto [name, pen] : {std::pair<std::string_view, Pen>{"build", dir}, {"client", dir}, {"contrib", dir},
                           {"install.sh", exe}, {"meson.build", {}}, {"mux", dir}, {"protocol", dir},
                           {"README.md", {}}, {"server", dir}, {"tests", dir}}) {
    type(s, x, 10, name, pen);
    x += static_cast<int>(name.size());
    type(s, x, 10, "  ");
    x += 2;
  }
  type(s, x, 10, "LICENSE");
  const Bytes d = diff(old, now);
  MESSAGE("one-row change (80 columns, 10 coloured runs): ", d.size(), " bytes");
  CHECK(d.size() < 200);
  CHECK(synced(old, now) == now);

  // A plain line of 80 characters.
  HostState plain = old;
  type(plain.screen, 0, 5, filler(80, 99));
  const Bytes p = diff(old, plain);
  MESSAGE("one-row change (80 plain characters): ", p.size(), " bytes");
  CHECK(p.size() < 100);
}

TEST_CASE("a blank row costs a byte or two") {
  HostState old = full_of_text(80, 24);
  HostState now = old;
  now.screen.erase({5, 0, 6, 80}, Color::none());
  const Bytes d = diff(old, now);
  CHECK(d.size() <= 8);  // version, section header, op, y, count, the row, end
  CHECK(synced(old, now) == now);
  // Blank with a background colour: still a handful of bytes.
  now.screen.erase({6, 0, 7, 80}, Color::index(4));
  CHECK(diff(old, now).size() <= 16);
}

TEST_CASE("a scroll of k rows costs about k rows") {
  for (auto [cols, rows] : {std::pair{80, 24}, {200, 60}}) {
    const HostState old = full_of_text(cols, rows);
    const size_t full = repaint_size(old);
    const size_t per_row = full / static_cast<size_t>(rows);
    MESSAGE("full repaint of ", cols, "x", rows, ": ", full, " bytes");
    for (int k : {1, 3, 10}) {
      HostState now = old;
      for (int i = 0; i < k; ++i) print_line(now.screen, filler(cols - 2, 1000 + i));
      const Bytes d = diff(old, now);
      MESSAGE("scroll by ", k, " with ", k, " new lines on ", cols, "x", rows, ": ", d.size(), " bytes");
      CHECK(d.size() <= static_cast<size_t>(k) * per_row + 16);
      CHECK(synced(old, now) == now);
    }
  }
}

TEST_CASE("a scroll region leaves the rows outside it alone") {
  HostState old = full_of_text(80, 24);
  // A status line on top and at the bottom, and the region between scrolls by 2.
  HostState now = old;
  now.screen.scroll({1, 0, 23, 80}, -2, 0, Color::none());
  type(now.screen, 0, 21, "new line one");
  type(now.screen, 0, 22, "new line two");
  const Bytes d = diff(old, now);
  CHECK(d.size() < 3 * repaint_size(old) / 24);
  CHECK(synced(old, now) == now);
  // And downwards (reverse index at the top of the region).
  HostState down = old;
  down.screen.scroll({1, 0, 23, 80}, 3, 0, Color::none());
  type(down.screen, 0, 1, "inserted");
  CHECK(diff(old, down).size() < 4 * repaint_size(old) / 24);
  CHECK(synced(old, down) == down);
}

TEST_CASE("identical blank rows are not taken for moved rows") {
  SUBCASE("a blank screen scrolls") {
    HostState old;
    type(old.screen, 0, 23, "the only text");
    HostState now = old;
    now.screen.scroll({0, 0, 24, 80}, -5, 0, Color::none());
    const Bytes d = diff(old, now);
    CHECK(d.size() < 24);  // a scroll and five blank rows
    const HostState client = synced(old, now);
    CHECK(client == now);
    CHECK(client.screen.row(18).cells[0].ch == 't');
    CHECK(client.screen.row(23).cells[0].ch == 0);
  }
  SUBCASE("rows of equal content scroll") {
    HostState old;
    for (int y = 0; y < 24; ++y) type(old.screen, 0, y, "same");
    HostState now = old;
    for (int i = 0; i < 3; ++i) print_line(now.screen, "same");
    type(now.screen, 0, 10, "different");
    const Bytes d = diff(old, now);
    CHECK(d.size() < 60);
    CHECK(synced(old, now) == now);
  }
  SUBCASE("blank rows scrolled in then written") {
    HostState old;
    HostState now = old;
    now.screen.scroll({0, 0, 24, 80}, -24, 0, Color::none());
    type(now.screen, 0, 0, "top");
    CHECK(synced(old, now) == now);
  }
}

TEST_CASE("a default state, where both ends start, is repainted in full") {
  // Both ends start from HostState{}, whose rows carry the versions every new
  // screen starts with; the server then diffs its terminal's screen, another
  // history, against it. A terminal made with 2 rows and grown to 24 gives
  // its rows versions that the default state's blank rows also carry.
  HostState server;
  server.screen = Screen(80, 2);
  type(server.screen, 0, 0, "a");
  type(server.screen, 0, 1, "b");
  server.screen.resize(80, 24);
  const HostState start;
  const HostState client = synced(start, server);
  CHECK(client == server);
  CHECK(client.screen.row(1).cells[0].ch == 'b');
}

TEST_CASE("status, cursor and titles alone make tiny diffs") {
  const HostState old = full_of_text(80, 24);
  HostState now = old;
  CHECK(diff(old, now).size() == 2);  // version and end: nothing changed
  now.exited = true;
  now.exit_code = -9;
  now.history_end = 12345;
  const Bytes d = diff(old, now);
  MESSAGE("session status change: ", d.size(), " bytes");
  CHECK(d.size() <= 10);
  CHECK(synced(old, now) == now);

  HostState cursor = old;
  cursor.screen.set_cursor({5, 7, false, true, roam::CursorShape::bar});
  CHECK(diff(old, cursor).size() <= 8);
  CHECK(synced(old, cursor) == cursor);

  HostState titled = old;
  titled.screen.set_title("vim main.cc");
  titled.screen.set_icon_name("vim");
  titled.screen.ring_bell();
  CHECK(synced(old, titled) == titled);
}

TEST_CASE("the echo acknowledgement arrives alone, in a few bytes") {
  const HostState old = full_of_text(80, 24);
  HostState now = old;
  now.echo_ack = 300;
  const Bytes d = diff(old, now);
  CHECK(d.size() <= 6);
  CHECK(synced(old, now).echo_ack == 300);
  CHECK(synced(old, now) == now);
  HostState later = now;
  later.echo_ack = 1ull << 40;
  CHECK(synced(now, later).echo_ack == 1ull << 40);
}

TEST_CASE("a stopping server says so in a few bytes") {
  const HostState old = full_of_text(80, 24);
  HostState now = old;
  now.server_stopping = true;
  CHECK(diff(old, now).size() <= 6);
  CHECK(synced(old, now).server_stopping);
  CHECK(synced(old, now) == now);
}

TEST_CASE("a resize and an alternate-screen switch repaint every row") {
  const HostState old = full_of_text(80, 24);
  HostState resized = old;
  resized.screen.resize(100, 30);
  type(resized.screen, 0, 29, "after the resize");
  CHECK(synced(old, resized) == resized);
  HostState shrunk = old;
  shrunk.screen.resize(40, 10);
  CHECK(synced(old, shrunk) == shrunk);

  HostState alt = old;
  roam::Modes m;
  m.alternate_screen = true;
  alt.screen.set_modes(m);
  alt.screen.erase({0, 0, 24, 80}, Color::none());
  type(alt.screen, 0, 0, "full-screen program");
  const HostState client = synced(old, alt);
  CHECK(client == alt);
  HostState back = alt;
  back.screen.set_modes({});
  CHECK(synced(client, back) == back);
}

TEST_CASE("the bell count and clipboard serial arrive exactly") {
  const HostState old;
  HostState now = old;
  for (int i = 0; i < 1000; ++i) now.screen.ring_bell();
  for (int i = 0; i < 3; ++i) CHECK(now.screen.set_clipboard("c", "aGVsbG8="));
  const HostState client = synced(old, now);
  CHECK(client.screen.bell_count() == 1000);
  CHECK(client.screen.clipboard().serial == 3);
  CHECK(client == now);
}

TEST_CASE("a huge count jump arrives exactly in one diff, and costs nothing") {
  // What a client sees after a program rang the bell 200,000 times while it was away.
  const HostState old;
  HostState now = old;
  for (int i = 0; i < 200000; ++i) now.screen.ring_bell();
  CHECK(now.screen.set_clipboard("c", "aGVsbG8="));
  HostState client = old;
  REQUIRE(client.apply(diff(old, now)).has_value());
  CHECK(client == now);
  CHECK(client.screen.bell_count() == 200000);
  CHECK(client.screen.clipboard().base64 == "aGVsbG8=");
  CHECK(client.screen.clipboard().serial == now.screen.clipboard().serial);
  // Counts of four billion are just numbers.
  const Bytes jumps[] = {make_diff({section(7, varints({0x7fffffff})), section(8, varints({1, 'c', 0, 0x7fffffff}))}),
                         make_diff({section(7, varints({0xffffffff})), section(8, varints({1, 'p', 0, 0xffffffff}))})};
  for (int i = 0; i < 100; ++i) CHECK(client.apply(jumps[i % 2]).has_value());
  CHECK(client.screen.bell_count() == 0xffffffff);
}

TEST_CASE("a server screen with its own history diffs correctly against the default starting state") {
  // Both ends start from HostState{}; the server's terminal screen was made
  // elsewhere (smaller, then resized). No version of it may match the default's.
  HostState server;
  server.screen = Screen(80, 10);
  for (int y = 0; y < 10; ++y) {
    const uint32_t text[] = {static_cast<uint32_t>('a' + y), 0};
    server.screen.put(0, y, text, 1, Pen{});
  }
  server.screen.resize(80, 24);
  HostState client;
  REQUIRE(client.apply(diff(HostState{}, server)).has_value());
  CHECK(client == server);
}

TEST_CASE("a killed session says so in a tiny diff; a malformed killed section is refused") {
  const HostState old = full_of_text(80, 24);
  HostState now = old;
  now.exited = true;
  now.exit_code = -1;
  now.killed = true;
  const Bytes d = diff(old, now);
  CHECK(d.size() <= 10);
  const HostState client = synced(old, now);
  CHECK(client.killed);
  CHECK(client == now);
  // Only 0 or 1; after the replies (12), like every known section in order.
  HostState state;
  CHECK(state.apply(make_diff({section(13, varints({1}))})).has_value());
  CHECK(state.killed);
  CHECK(state.apply(make_diff({section(13, varints({0}))})).has_value());
  CHECK_FALSE(state.killed);
  CHECK(state.apply(make_diff({section(13, varints({2}))})).error() == Errc::too_large);
  CHECK(state.apply(make_diff({section(13, varints({1})), section(9, varints({1, 1, 0}))})).error() ==
        Errc::malformed);
}

TEST_CASE("every truncation of a diff fails cleanly") {
  Random rnd(11);
  HostState old;
  for (int i = 0; i < 30; ++i) rnd.mutate(old);
  HostState now = old;
  for (int i = 0; i < 40; ++i) rnd.mutate(now);
  now.screen.resize(now.screen.cols() + 1, now.screen.rows());
  now.screen.set_title("truncated");
  now.screen.set_clipboard("c", "dHJ1bmNhdGVk");
  now.exited = true;
  const Bytes d = diff(old, now);
  REQUIRE(d.size() > 100);
  for (size_t n = 0; n < d.size(); ++n) {
    HostState client = old;
    CHECK_FALSE(client.apply({d.data(), n}).has_value());
  }
  HostState client = old;
  CHECK(client.apply(d).has_value());
  CHECK(client == now);
}

// What apply accepts, diff_from can say: a client and a server never
// believe they hold the same state when they do not.
TEST_CASE("random bytes never crash apply, and what it accepts round-trips") {
  Random rnd(5);
  HostState live = full_of_text(80, 24);
  Bytes bytes;
  int accepted = 0, round_trips = 0;
  for (int i = 0; i < 100000; ++i) {
    bytes.resize(static_cast<size_t>(rnd.below(48)));
    const bool small = rnd.chance(60);  // small values hit tags, ops and codes
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(small && rnd.chance(80) ? rnd.below(12) : rnd.below(256));
    if (!bytes.empty() && rnd.chance(95)) bytes[0] = 1;
    const HostState before = live;
    if (live.apply(bytes)) {
      ++accepted;
      HostState copy = before;
      round_trips += copy.apply(diff(before, live)).has_value() && copy == live;
    }
    if (i % 5000 == 0) live = full_of_text(80, 24);
  }
  MESSAGE("random diffs accepted: ", accepted, " of 100000");
  CHECK(accepted > 0);
  CHECK(accepted < 100000);
  CHECK(round_trips == accepted);
}

TEST_CASE("mutated diffs never crash apply, and what it accepts round-trips") {
  Random rnd(9);
  HostState old;
  for (int i = 0; i < 20; ++i) rnd.mutate(old);
  std::vector<std::pair<HostState, Bytes>> diffs;
  HostState now = old;
  for (int i = 0; i < 40; ++i) {
    for (int n = rnd.between(1, 4); n > 0; --n) rnd.mutate(now);
    diffs.emplace_back(now, diff(old, now));
  }
  int accepted = 0, round_trips = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes d = diffs[static_cast<size_t>(rnd.below(static_cast<int>(diffs.size())))].second;
    for (int n = rnd.between(1, 4); n > 0; --n) {
      const auto at = static_cast<size_t>(rnd.below(static_cast<int>(d.size())));
      switch (rnd.below(3)) {
        case 0: d[at] = static_cast<uint8_t>(rnd.below(256)); break;
        case 1: d[at] ^= static_cast<uint8_t>(1 << rnd.below(8)); break;
        default: d.insert(d.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rnd.below(256)));
      }
    }
    HostState client = old;
    if (client.apply(d)) {
      ++accepted;
      round_trips += synced(old, client) == client;
    }
  }
  CHECK(accepted > 0);
  CHECK(round_trips == accepted);
}

TEST_CASE("huge declared sizes are refused without being allocated") {
  const HostState state = full_of_text(80, 24);
  const Bytes one_blank_row = varints({1, 0, 1, 0});
  const std::vector<std::pair<const char*, Bytes>> cases = {
      {"width", make_diff({section(1, varints({uint64_t{1} << 40, 24}))})},
      {"height", make_diff({section(1, varints({80, uint64_t{1} << 40}))})},
      {"largest size, nothing behind it", make_diff({section(1, varints({Screen::max_cols, Screen::max_rows}))})},
      {"width over the limit", make_diff({section(1, varints({Screen::max_cols + 1, 24})), section(3, one_blank_row)})},
      {"row count", make_diff({section(3, varints({1, 0, uint64_t{1} << 30}))})},
      {"row past the bottom", make_diff({section(3, varints({1, 24, 1, 0}))})},
      {"row width", make_diff({section(3, varints({1, 0, 1, uint64_t{1} << 40}))})},
      {"row one cell too wide", make_diff({section(3, varints({1, 0, 1, 81 << 2, 81, 0, 1, 81, 'x'}))})},
      {"repeat count", make_diff({section(3, varints({1, 0, 1, 4 << 2, 4, 0, 1, uint64_t{1} << 40, 'x'}))})},
      {"mark count", make_diff({section(3, varints({1, 0, 1, 1 << 2 | 1, 1, 0, 'x', uint64_t{1} << 40}))})},
      {"marks per cell", make_diff({section(3, varints({1, 0, 1, 1 << 2 | 1, 1, 0, 'x', 1, 0, 1000}))})},
      {"scroll", make_diff({section(3, varints({0, 0, 24, uint64_t{1} << 40}))})},
      {"title", make_diff({section(5, varints({uint64_t{1} << 40}))})},
      {"title over the limit", make_diff({section(5, varints({Screen::max_title + 1}))})},
      {"clipboard", make_diff({section(8, varints({1, 'c', Screen::max_clipboard + 1}))})},
      {"section length", make_diff({varints({99, uint64_t{1} << 50})}, false)},
      {"exit code", make_diff({section(9, varints({1, uint64_t{1} << 40, 0}))})},
      {"reply count", make_diff({section(12, varints({0, uint64_t{1} << 40, uint64_t{1} << 40}))})},
      {"replies past their end", make_diff({section(12, varints({0, 2, 3}))})},
      {"begin after end", make_diff({section(12, varints({5, 4, 0}))})},
      {"reply rows", make_diff({section(12, varints({0, 1, 1, 1, 0, 1, 0, uint64_t{1} << 40}))})},
      {"reply matches", make_diff({section(12, varints({0, 1, 1, 2, 0, 1, uint64_t{1} << 40}))})},
      {"reply kind", make_diff({section(12, varints({0, 1, 1, 9, 0, 1, 0}))})},
      {"reply row width", make_diff({section(12, varints({0, 1, 1, 1, 0, 1, 0, 1, uint64_t{1} << 40}))})},
  };
  for (const auto& [name, d] : cases) {
    CAPTURE(name);
    HostState client = state;
    largest_allocation = 0;
    const auto done = client.apply(d);
    CHECK_FALSE(done.has_value());
    CHECK(largest_allocation < 64 * 1024);
  }
}

TEST_CASE("history replies arrive once each, in order, and go once acknowledged") {
  HostState server, client;
  Screen rows(10, 3);
  const uint32_t a[] = {'a', 0}, b[] = {'b', 0};
  rows.put(0, 0, a, 1, Pen{});
  rows.put(1, 0, b, 1, Pen{});
  roam::HistoryReply lines;
  lines.request = 7;
  lines.first = 100;
  lines.rows = {rows.row(0), rows.row(1)};
  lines.complete = true;
  roam::HistoryReply found;
  found.kind = roam::HistoryReply::Kind::matches;
  found.request = 8;
  found.matches = {90, 12, 3};
  server.push_reply(lines);
  server.push_reply(found);
  server.echo_ack = 5;
  server.history_begin = 3;
  Bytes d;
  server.diff_from(HostState{}, d);
  REQUIRE(client.apply(d).has_value());
  CHECK(client == server);
  REQUIRE(client.replies.size() == 2);
  CHECK(client.replies[0].rows[0].cells[1].ch == 'b');
  CHECK(client.replies[1].matches == std::vector<uint64_t>{90, 12, 3});
  CHECK(client.echo_ack == 5);
  CHECK(client.history_begin == 3);

  // The client acknowledged that state: the server drops both; a new reply
  // diffed from the acknowledged state carries only itself.
  const HostState acked = server;
  server.forget_acknowledged(acked);
  CHECK(server.replies.empty());
  CHECK(server.replies_begin() == 2);
  server.push_reply(found);
  d.clear();
  server.diff_from(acked, d);
  HostState next = client;
  REQUIRE(next.apply(d).has_value());
  CHECK(next == server);
  CHECK(next.replies_begin() == 2);
  CHECK(next.replies.size() == 1);
  // Diffs that would leave a gap before the replies they carry are refused.
  HostState fresh;
  CHECK_FALSE(fresh.apply(make_diff({section(12, varints({0, 3, 1, 2, 8, 1, 0}))})).has_value());
}

TEST_CASE("versions, unknown sections and the closing tag") {
  HostState state;
  const Bytes ok = make_diff({});
  CHECK(state.apply(ok).has_value());
  CHECK(state.apply(Bytes{}).error() == Errc::truncated);
  CHECK(state.apply(Bytes{2, 0}).error() == Errc::bad_version);
  CHECK(state.apply(Bytes{0, 0}).error() == Errc::bad_version);
  CHECK(state.apply(Bytes{1}).error() == Errc::truncated);
  CHECK(state.apply(Bytes{1, 0, 0}).error() == Errc::malformed);  // bytes after the end
  // A section from a later version is skipped.
  const Bytes later = make_diff({section(42, varints({1, 2, 3})), section(9, varints({1, 6, 0}))});
  REQUIRE(state.apply(later).has_value());
  CHECK(state.exited);
  CHECK(state.exit_code == 3);
  // Known sections come once each, in order.
  const Bytes status = section(9, varints({0, 0, 0}));
  CHECK(state.apply(make_diff({status, status})).error() == Errc::malformed);
  CHECK(state.apply(make_diff({status, section(5, varints({0}))})).error() == Errc::malformed);
  // A known section with bytes left over is malformed.
  CHECK(state.apply(make_diff({section(9, varints({1, 6, 0, 0}))})).error() == Errc::malformed);
}

TEST_CASE("unchanged_from sees a change to any field, the screen's by its rows' versions") {
  HostState base;
  base.screen = Screen(20, 5);
  const std::vector<std::pair<const char*, std::function<void(HostState&)>>> changes = {
      {"a cell", [](HostState& s) {
         const uint32_t ch[2] = {'x', 0};
         s.screen.put(1, 1, ch, 1, Pen{});
       }},
      {"the cursor", [](HostState& s) { s.screen.set_cursor({3, 2}); }},
      {"the title", [](HostState& s) { s.screen.set_title("t"); }},
      {"exited", [](HostState& s) { s.exited = true; }},
      {"the exit code", [](HostState& s) { s.exit_code = 3; }},
      {"killed", [](HostState& s) { s.killed = true; }},
      {"server_stopping", [](HostState& s) { s.server_stopping = true; }},
      {"history_end", [](HostState& s) { s.history_end = 9; }},
      {"history_begin", [](HostState& s) { s.history_begin = 2; }},
      {"echo_ack", [](HostState& s) { s.echo_ack = 4; }},
      {"a reply", [](HostState& s) { s.push_reply(HistoryReply{}); }},
  };
  for (const auto& [what, change] : changes) {
    CAPTURE(what);
    HostState now = base;
    CHECK(now.unchanged_from(base));
    change(now);
    CHECK_FALSE(now.unchanged_from(base));
    CHECK_FALSE(now == base);
  }
}

// Issue 19: the fuzzer's diff whose title held C0 and UTF-8 C1 bytes side by
// side ("\xc2\x01\x92"): dropping the \x01 joined a new C1, so the title
// read back was not the title a second pass kept, and apply(diff(a, b), a)
// was not b. Also in tests/fuzz/corpus/host_state/title_c1_joined.
TEST_CASE("a title whose filtering joins a new control round-trips") {
  const Bytes input{
      0x01, 0x05, 0x2f, 0x2e, 0x2e, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc2, 0xc2, 0xc2,
      0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0x01, 0x05, 0x92, 0xc2, 0xc2, 0xc2,
      0xc2, 0xc2, 0xc2, 0xbc, 0xd2, 0xc2, 0xc2, 0xc2, 0x3d, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0xc2, 0x90,
      0xd3, 0xfd, 0x7f, 0x00, 0x00};
  for (const HostState& start : {HostState{}, full_of_text(40, 12)}) {
    HostState state = start;
    REQUIRE(state.apply(input));
    CHECK(state.screen.title().find("\xc2\x92") == std::string::npos);
    CHECK(synced(start, state) == state);
  }
  Screen s(10, 2);
  s.set_title("a\xc2\x01\x92" "b\x9b" "6n\xc2\xc2\x9d");
  const std::string once = s.title();
  s.set_title(once);
  CHECK(s.title() == once);
  CHECK(once.find_first_of("\x01\x92\x9b\x9d") == std::string::npos);
}

// A hostile server that never forgets its replies (begin 0 for ever): the
// client's state refuses to hold more than its bound, as too_large, which
// ends the connection.
TEST_CASE("a state holding replies past the bound is refused as too large") {
  HostState server, client;
  bool refused = false;
  for (int round = 0; round < 64 && !refused; ++round) {
    const HostState before = server;
    for (int i = 0; i < 64; ++i) {
      roam::HistoryReply r;
      r.request = static_cast<uint64_t>(round);
      server.push_reply(r);
    }
    HostState next = client;
    const auto done = next.apply(diff(before, server));
    if (!done) {
      CHECK(done.error() == roam::Errc::too_large);
      refused = true;
    } else {
      client = next;
    }
  }
  CHECK(refused);
  CHECK(client.replies.size() <= 2048);
}

TEST_CASE("replies whose contents the client let go still anchor later diffs") {
  HostState server;
  roam::HistoryReply r;
  r.request = 1;
  roam::Row row;
  row.cells.assign(50, roam::Cell{'x', roam::Color::none(), roam::Color::none(), 0, 1});
  r.rows.assign(3, row);
  server.push_reply(r);
  HostState client = synced(HostState{}, server);
  const size_t full = client.held_bytes();
  client.forget_reply_contents(client.replies_end);
  CHECK(client.replies.size() == 1);
  CHECK(client.replies[0].rows.empty());
  CHECK(client.held_bytes() + 3 * 50 * sizeof(roam::Cell) <= full);
  // The server, not yet acknowledged, sends the reply again with a new one.
  r.request = 2;
  server.push_reply(r);
  HostState next = client;
  REQUIRE(next.apply(diff(HostState{}, server)).has_value());
  CHECK(next.replies_end == 2);
  CHECK(next.replies[1].rows.size() == 3);
}

TEST_CASE("a screen over the size limit is refused as too large, the largest one is taken") {
  for (const auto& [cols, rows, ok] : {std::tuple{Screen::max_cols, Screen::max_rows, true},
                                       std::tuple{Screen::max_cols + 1, 24, false},
                                       std::tuple{80, Screen::max_rows + 1, false}}) {
    Bytes blank_rows = varints({1, 0, static_cast<uint64_t>(rows)});
    blank_rows.insert(blank_rows.end(), static_cast<size_t>(rows), 0);
    HostState client;
    const Bytes size = varints({static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)});
    const auto done = client.apply(make_diff({section(1, size), section(3, blank_rows)}));
    CHECK(done.has_value() == ok);
    if (!ok) CHECK(done.error() == roam::Errc::too_large);
  }
}
