#include "client/display.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <vterm.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/unit/rows.h"
#include "tests/unit/vt.h"

using roam::Cell;
using roam::Color;
using roam::Cursor;
using roam::CursorShape;
using roam::Modes;
using roam::MouseEncoding;
using roam::MouseTracking;
using roam::Pen;
using roam::Row;
using roam::Screen;
using roam::client::Display;

namespace {

using roam::test::text;

using roam::test::contains;
using roam::test::count;
using roam::test::max_csi_args;
using roam::test::mismatch;
using roam::test::put;
using roam::test::Setup;
using roam::test::Vt;
using roam::test::write;

}  // namespace

TEST_CASE("open pushes the user's screen, down to the cursor's row, into the scrollback") {
  Vt t(20, 6);
  t.feed("one\r\ntwo\r\nthree$ ");
  Display d(20, 6);
  t.feed(d.open());
  REQUIRE(t.pushed.size() == 3);
  CHECK(t.pushed[0] == "one");
  CHECK(t.pushed[1] == "two");
  CHECK(t.pushed[2] == "three$");
  for (int y = 0; y < 6; ++y) CHECK(t.text(y).empty());
  CHECK(t.cursor().row == 0);
  CHECK(t.cursor().col == 0);
}

TEST_CASE("the first draw paints the frame inside synchronized output with the cursor hidden") {
  Setup s(20, 5);
  Screen f(20, 5);
  write(f, 0, 0, "hello");
  write(f, 3, 2, "world", Pen{Color::index(1), Color::index(4), roam::attr_bold});
  f.set_cursor({8, 2});
  const std::string out = s.draw(f);
  CHECK(out.starts_with("\x1b[?2026h"));
  CHECK(out.ends_with("\x1b[?2026l"));
  CHECK(out.find("\x1b[?25l") < out.find("hello"));
  CHECK(out.find("\x1b[?25h") > out.find("world"));
  CHECK(mismatch(s.t, f) == "");
  CHECK(s.t.pushed.empty());
  // One SGR for the coloured run, one back to the default pen at most.
  CHECK(count(out, "m") <= 3);
}

TEST_CASE("an unchanged frame draws nothing") {
  Setup s(30, 8);
  Screen f(30, 8);
  write(f, 0, 0, "$ ls");
  s.draw(f);
  CHECK(s.draw(f).empty());
  CHECK(s.draw(f).empty());
}

TEST_CASE("one changed cell is a few bytes") {
  Setup s(80, 24);
  Screen f(80, 24);
  for (int y = 0; y < 24; ++y) write(f, 0, y, fmt::format("line {} of some text", y));
  f.set_cursor({10, 23});
  s.draw(f);

  SUBCASE("typed at the cursor") {
    put(f, 10, 23, 'x');
    f.set_cursor({11, 23});
    const std::string out = s.draw(f);
    CHECK(out.size() < 40);
    CHECK(mismatch(s.t, f) == "");
  }
  SUBCASE("somewhere else") {
    put(f, 40, 5, 'x');
    const std::string out = s.draw(f);
    CHECK(out.size() < 48);
    CHECK(mismatch(s.t, f) == "");
  }
  SUBCASE("the cursor alone moves") {
    f.set_cursor({12, 23});
    const std::string out = s.draw(f);
    CHECK(out == "\x1b[2C");
    CHECK(mismatch(s.t, f) == "");
  }
}

TEST_CASE("the pen is set only when it changes, by the shorter form") {
  Setup s(40, 4);
  Screen f(40, 4);
  const Pen bold{{}, {}, roam::attr_bold};
  write(f, 0, 0, "aaaa", bold);
  s.draw(f);
  SUBCASE("adding italic to bold") {
    write(f, 0, 0, "bbbb", bold);
    write(f, 4, 0, "cc", Pen{{}, {}, roam::attr_bold | roam::attr_italic});
    const std::string out = s.draw(f);
    CHECK_MESSAGE(contains(out, "\x1b[1mbbbb\x1b[3mcc"), fmt::format("{:?}", out));
    CHECK(mismatch(s.t, f) == "");
  }
  SUBCASE("several attributes dropped: a reset is shorter") {
    const Pen many{Color::from_rgb(1, 2, 3), Color::index(200),
                   roam::attr_bold | roam::attr_italic | roam::attr_reverse | roam::attr_strike};
    write(f, 0, 1, "cc", many);
    write(f, 2, 1, "dd", Pen{{}, {}, roam::attr_italic});
    const std::string out = s.draw(f);
    CHECK(contains(out, "cc\x1b[0;3mdd"));
    CHECK(mismatch(s.t, f) == "");
  }
  SUBCASE("never more than 16 parameters in one sequence") {
    const Pen all{Color::from_rgb(100, 200, 255), Color::from_rgb(255, 255, 255),
                  roam::attr_bold | roam::attr_faint | roam::attr_italic | 3 << roam::attr_underline_shift |
                      roam::attr_blink | roam::attr_reverse | roam::attr_conceal | roam::attr_strike};
    write(f, 0, 2, "ee", all);
    write(f, 2, 2, "ff", Pen{Color::from_rgb(1, 2, 3), Color::from_rgb(4, 5, 6), 0});
    write(f, 4, 2, "gg", all);
    const std::string out = s.draw(f);
    CHECK(max_csi_args(out) <= 16);
    CHECK_MESSAGE(contains(out, "\x1b[1;2;3;4:3;5;7;8;9m\x1b[38;2;100;200;255;48;2;255;255;255mee"),
                  fmt::format("{:?}", out));
    CHECK(mismatch(s.t, f) == "");
  }
}

TEST_CASE("a whole-frame scroll leaves the scrollback alone; push_history feeds it") {
  const int cols = 80, rows = 24;
  Setup s(cols, rows);
  Screen f(cols, rows);
  const auto line = [](int n) { return fmt::format("{:03} {}", n, std::string(70, static_cast<char>('a' + n % 26))); };
  const auto row_of = [&](int n) {
    Screen one(cols, 1);
    write(one, 0, 0, line(n), Pen{Color::index(n % 8), {}, 0});
    return one.row(0);
  };
  for (int y = 0; y < rows; ++y) write(f, 0, y, line(y));
  f.set_cursor({0, rows - 1});
  s.draw(f);

  int next = rows, pushed = 0;
  for (int k : {1, 3, 7, 1, 23, 2}) {
    f.scroll({0, 0, rows, cols}, -k, 0, {});
    for (int y = rows - k; y < rows; ++y) write(f, 0, y, line(next++));
    std::string out = s.draw(f);
    INFO("k = ", k, " bytes = ", out.size());
    // The new rows and row 0, which stays out of the scroll region.
    CHECK(out.size() < static_cast<size_t>((k + 1) * (cols + 8) + 60));
    CHECK(mismatch(s.t, f) == "");
    CHECK(s.t.pushed.size() == static_cast<size_t>(pushed));
    // What scrolled off, as the session's history would send it.
    std::vector<Row> lines;
    for (int n = pushed; n < next - rows; ++n) lines.push_back(row_of(n));
    out.clear();
    s.d.push_history(lines, out);
    s.d.draw(f, out);
    s.t.feed(out);
    pushed = next - rows;
    CHECK(mismatch(s.t, f) == "");
  }
  REQUIRE(s.t.pushed.size() == static_cast<size_t>(next - rows));
  for (int i = 0; i < next - rows; ++i) CHECK(s.t.pushed[i] == line(i));

  SUBCASE("more lines than the screen holds, in one go") {
    std::vector<Row> lines;
    for (int n = 0; n < 3 * rows + 5; ++n) lines.push_back(row_of(1000 + n));
    std::string out;
    s.d.push_history(lines, out);
    s.d.draw(f, out);
    s.t.feed(out);
    CHECK(mismatch(s.t, f) == "");
    REQUIRE(s.t.pushed.size() == static_cast<size_t>(next - rows) + lines.size());
    for (size_t i = 0; i < lines.size(); ++i) CHECK(s.t.pushed[static_cast<size_t>(next - rows) + i] == line(1000 + static_cast<int>(i)));
  }
}

TEST_CASE("scrolls in the alternate screen never reach the scrollback") {
  const int cols = 60, rows = 20;
  Setup s(cols, rows);
  Screen f(cols, rows);
  Modes m;
  m.alternate_screen = true;
  f.set_modes(m);
  const auto line = [](int n) { return fmt::format("{:03} {}", n, std::string(50, static_cast<char>('a' + n % 26))); };
  for (int y = 0; y < rows; ++y) write(f, 0, y, line(y));
  s.draw(f);
  int next = rows;

  SUBCASE("the whole screen") {
    for (int k : {1, 2, 5}) {
      f.scroll({0, 0, rows, cols}, -k, 0, {});
      for (int y = rows - k; y < rows; ++y) write(f, 0, y, line(next++));
      const std::string out = s.draw(f);
      // The new rows and row 0, kept out of the scroll region.
      CHECK(out.size() < static_cast<size_t>((k + 1) * (cols + 8) + 80));
      CHECK(mismatch(s.t, f) == "");
    }
  }
  SUBCASE("a band above a status line, both ways") {
    write(f, 0, rows - 1, "-- status --", Pen{{}, Color::index(4), 0});
    s.draw(f);
    for (int k : {-3, 2, -1, 6}) {
      f.scroll({0, 0, rows - 1, cols}, -k, 0, {});
      if (k > 0)
        for (int y = rows - 1 - k; y < rows - 1; ++y) write(f, 0, y, line(next++));
      else
        for (int y = 0; y < -k; ++y) write(f, 0, y, line(next++));
      const std::string out = s.draw(f);
      CHECK(out.size() < static_cast<size_t>((std::abs(k) + 1) * (cols + 8) + 80));
      CHECK(mismatch(s.t, f) == "");
    }
  }
  CHECK(s.t.pushed.empty());
}

TEST_CASE("wide characters and combining marks") {
  Setup s(10, 3);
  Screen f(10, 3);
  put(f, 0, 0, 0x4e00, {}, 2);
  put(f, 2, 0, 'e', {}, 1, 0x301);
  put(f, 8, 0, 0x4e8c, Pen{Color::index(2), {}, 0}, 2);
  s.draw(f);
  CHECK(mismatch(s.t, f) == "");
  // Narrow characters over the halves of wide ones, and the reverse.
  put(f, 1, 0, 'x');
  put(f, 3, 0, 0x4e09, {}, 2);
  put(f, 8, 0, 'y');
  s.draw(f);
  CHECK(mismatch(s.t, f) == "");
  f.erase({0, 0, 1, 10}, {});
  s.draw(f);
  CHECK(mismatch(s.t, f) == "");
}

TEST_CASE("the bottom-right cell never scrolls the terminal") {
  Setup s(10, 4);
  Screen f(10, 4);
  f.set_cursor({0, 0});
  put(f, 9, 3, 'Z');
  s.draw(f);
  CHECK(mismatch(s.t, f) == "");
  write(f, 0, 3, "abcdefghij");
  put(f, 8, 2, 0x4e00, {}, 2);
  f.set_cursor({3, 1});
  s.draw(f);
  CHECK(mismatch(s.t, f) == "");
  f.set_cursor({9, 3});
  s.draw(f);
  CHECK(mismatch(s.t, f) == "");
  CHECK(s.t.pushed.empty());
  CHECK(s.t.text(0).empty());
}

TEST_CASE("trailing blanks are erased, with the default background") {
  Setup s(40, 3);
  Screen f(40, 3);
  write(f, 0, 0, "a long line of text that will be cut");
  f.erase({1, 0, 2, 40}, Color::index(1));
  s.draw(f);
  CHECK(mismatch(s.t, f) == "");
  f.erase({0, 6, 1, 40}, {});
  const std::string out = s.draw(f);
  CHECK(contains(out, "\x1b[K"));
  CHECK(out.size() < 40);
  CHECK(mismatch(s.t, f) == "");
  f.erase({0, 4, 1, 40}, {});
  CHECK(mismatch(s.t, f).size() > 0);
  s.draw(f);
  CHECK(mismatch(s.t, f) == "");
}

TEST_CASE("modes, title, bell and clipboard are mirrored once, on change") {
  Setup s(20, 4);
  Screen f(20, 4);
  f.ring_bell();
  f.set_clipboard("c", "b2xk");  // before the first frame: not replayed
  s.draw(f);
  CHECK(s.t.bells == 0);

  Modes m;
  m.app_cursor_keys = true;
  m.app_keypad = true;
  m.bracketed_paste = true;
  m.focus_events = true;
  m.reverse_video = true;
  m.mouse_tracking = MouseTracking::drag;
  m.mouse_encoding = MouseEncoding::sgr;
  f.set_modes(m);
  f.set_title("vim: notes\x1b]evil");
  f.set_icon_name("vim");
  f.ring_bell();
  f.set_clipboard("c", "aGVsbG8=");
  std::string out = s.draw(f);
  for (std::string_view seq : {"\x1b[?1h", "\x1b=", "\x1b[?2004h", "\x1b[?1004h", "\x1b[?5h", "\x1b[?1002h",
                               "\x1b[?1006h", "\x1b]1;vim\a", "\x1b]52;c;aGVsbG8=\a"})
    CHECK_MESSAGE(count(out, seq) == 1, fmt::format("{:?}", seq));
  CHECK(contains(out, "\x1b]2;vim: notes]evil\a"));
  CHECK(count(out, "\a") == 4);  // the bell and three OSC terminators
  CHECK(s.t.bells == 1);
  CHECK(s.t.title == "vim: notes]evil");
  CHECK(s.t.icon == "vim");
  CHECK(s.t.mouse == VTERM_PROP_MOUSE_DRAG);
  CHECK(s.t.reverse);
  CHECK(mismatch(s.t, f) == "");

  CHECK(s.draw(f).empty());

  m.mouse_tracking = MouseTracking::click;
  f.set_modes(m);
  for (int i = 0; i < 10; ++i) f.ring_bell();
  out = s.draw(f);
  CHECK(contains(out, "\x1b[?1002l\x1b[?1000h"));
  CHECK(count(out, "\a") == 3);  // capped

  SUBCASE("a full paint sends them again") {
    s.d.invalidate();
    out = s.draw(f);
    for (std::string_view seq : {"\x1b[?1h", "\x1b=", "\x1b[?2004h", "\x1b[?1000h", "\x1b[?1006h"})
      CHECK(count(out, seq) == 1);
    CHECK_FALSE(contains(out, "\x1b]52"));
    CHECK(mismatch(s.t, f) == "");
  }
  SUBCASE("close resets what was turned on") {
    f.set_cursor({0, 1, true, false, CursorShape::bar});
    s.draw(f);
    out = s.d.close();
    CHECK(out ==
          "\x1b[r\x1b[0m\x1b[?1l\x1b>\x1b[?2004l\x1b[?1004l\x1b[?5l\x1b[?1000l\x1b[?1006l\x1b[0 q"
          "\x1b[23;0t\x1b[1H\x1b[?25h");
  }
  SUBCASE("turning modes off") {
    f.set_modes(Modes{});
    out = s.draw(f);
    for (std::string_view seq :
         {"\x1b[?1l", "\x1b>", "\x1b[?2004l", "\x1b[?1004l", "\x1b[?5l", "\x1b[?1000l", "\x1b[?1006l"})
      CHECK(count(out, seq) == 1);
    CHECK(s.d.close() == "\x1b[r\x1b[0m\x1b[23;0t\x1b[1H\x1b[?25h");
  }
}

TEST_CASE("titles lose every control character, C1 ones too") {
  Setup s(10, 2);
  Screen f(10, 2);
  s.draw(f);
  f.set_title("a\u0090b\u009c\u00e9");
  CHECK(s.draw(f) == "\x1b]2;ab\u00e9\a");
  CHECK(s.t.title == "ab\u00e9");
}

TEST_CASE("close leaves the cursor below the content and the terminal as it was") {
  Setup s(20, 5);
  Screen f(20, 5);
  write(f, 0, 0, "a");
  write(f, 0, 2, "c");
  f.set_cursor({0, 0, false});
  s.draw(f);
  s.t.feed(s.d.close());
  CHECK(s.t.cursor().row == 3);
  CHECK(s.t.cursor().col == 0);
  CHECK(s.t.cursor_visible);

  write(f, 0, 4, "last row");
  s.draw(f);
  s.t.feed(s.d.close());
  CHECK(s.t.cursor().row == 4);
  CHECK(s.t.text(3) == "last row");  // pushed up by one line
  CHECK(s.t.text(4).empty());
}

TEST_CASE("invalidate repaints everything over a garbled terminal") {
  Setup s(30, 6);
  Screen f(30, 6);
  write(f, 0, 0, "top");
  write(f, 2, 3, "middle", Pen{Color::index(3), {}, 1 << roam::attr_underline_shift});
  f.set_cursor({5, 5});
  s.draw(f);
  s.t.feed("\x1b[2;5Hgarbage\x1b[41m   \x1b[5;1Hmore garbage\x1b[0m\x1b[6;28Hxyz");
  CHECK_FALSE(mismatch(s.t, f).empty());
  s.d.invalidate();
  s.draw(f);
  CHECK(mismatch(s.t, f) == "");
}

TEST_CASE("a frame of another size than the terminal is cut or padded") {
  Setup s(10, 4);
  Screen big(14, 6);
  write(big, 0, 0, "0123456789abcd");
  put(big, 9, 1, 0x4e00, {}, 2);  // cut in half by the terminal's edge
  write(big, 0, 5, "below");
  big.set_cursor({12, 5});
  s.draw(big);
  CHECK(mismatch(s.t, big) == "");
  Screen small(6, 2);
  write(small, 0, 1, "tiny");
  s.draw(small);
  CHECK(mismatch(s.t, small) == "");
}

TEST_CASE("resize repaints at the new size") {
  Setup s(12, 4);
  Screen f(12, 4);
  write(f, 0, 0, "hello there");
  s.draw(f);
  Vt bigger(16, 6);
  s.d.resize(16, 6);
  Screen g(16, 6);
  write(g, 0, 5, "resized");
  std::string out;
  s.d.draw(g, out);
  bigger.feed(out);
  CHECK(mismatch(bigger, g) == "");
}

// Random frames after random frames: the terminal shows each one exactly.
TEST_CASE("random frame sequences") {
  std::mt19937 rng(20240611);
  const auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const auto color = [&] {
    switch (pick(0, 5)) {
      case 0: return Color::index(static_cast<uint8_t>(pick(0, 255)));
      case 1: return Color::from_rgb(static_cast<uint8_t>(pick(0, 255)), 7, static_cast<uint8_t>(pick(0, 255)));
      case 2: return Color::index(static_cast<uint8_t>(pick(0, 15)));
      default: return Color{};
    }
  };
  const auto pen = [&] {
    Pen p;
    if (pick(0, 2) == 0) return p;
    p.fg = color();
    p.bg = color();
    static constexpr uint16_t bits[] = {roam::attr_bold,   roam::attr_italic, roam::attr_blink,  roam::attr_reverse,
                                        roam::attr_strike, roam::attr_faint,  roam::attr_conceal};
    for (uint16_t b : bits)
      if (pick(0, 4) == 0) p.attrs |= b;
    p.attrs |= static_cast<uint16_t>(pick(0, 6) < 4 ? 0 : pick(1, 3) << roam::attr_underline_shift);
    return p;
  };

  // Half the sequences go through a tty that turns LF into CR LF (ONLCR):
  // the display must not depend on the client's tty settings.
  const auto onlcr = [](std::string_view in) {
    std::string out;
    for (char c : in) {
      if (c == '\n') out += '\r';
      out += c;
    }
    return out;
  };
  int draws = 0;
  size_t bytes = 0;
  for (int seq = 0; seq < 400; ++seq) {
    const bool crlf = seq % 2 == 1;
    const int cols = pick(2, seq % 10 == 0 ? 80 : 24), rows = pick(2, seq % 10 == 0 ? 24 : 10);
    const bool other_size = pick(0, 9) == 0;
    const int tcols = other_size ? pick(2, 24) : cols, trows = other_size ? pick(2, 10) : rows;
    Vt t(tcols, trows);
    Display d(tcols, trows);
    t.feed(crlf ? onlcr(d.open()) : d.open());
    Screen f(cols, rows);
    for (int step = 0; step < 30; ++step) {
      const int ops = pick(1, 6);
      for (int op = 0; op < ops; ++op) {
        switch (pick(0, 11)) {
          case 0:
          case 1:
          case 2: {  // a run of text
            int x = pick(0, cols - 1);
            const int y = pick(0, rows - 1);
            const Pen p = pen();
            for (int n = pick(1, cols); n > 0 && x < cols; --n) {
              const int kind = pick(0, 19);
              if (kind == 0 && x + 1 < cols) {
                put(f, x, y, static_cast<uint32_t>(0x4e00 + pick(0, 50)), p, 2);
                x += 2;
              } else {
                const uint32_t ch = kind == 1                ? 0xe9
                                    : kind == 2 || kind == 4 ? ' '
                                                             : static_cast<uint32_t>('a' + pick(0, 25));
                put(f, x++, y, ch, p, 1, kind == 3 || kind == 4 ? 0x301 : 0);
              }
            }
            break;
          }
          case 3: {  // erase a rectangle
            const int top = pick(0, rows - 1), left = pick(0, cols - 1);
            f.erase({top, left, pick(top + 1, rows), pick(left + 1, cols)}, pick(0, 3) ? Color{} : color());
            break;
          }
          case 4:
          case 5: {  // output scrolls the whole screen
            const int k = pick(1, rows);
            f.scroll({0, 0, rows, cols}, -k, 0, pick(0, 5) ? Color{} : color());
            break;
          }
          case 6: {  // a band scrolls either way
            const int top = pick(0, rows - 1), bottom = pick(top + 1, rows);
            f.scroll({top, 0, bottom, cols}, pick(-rows, rows), 0, {});
            break;
          }
          case 7:
            f.set_cursor({pick(0, cols - 1), pick(0, rows - 1), pick(0, 4) != 0, pick(0, 1) == 0,
                          static_cast<CursorShape>(pick(0, 2))});
            break;
          case 8: {
            Modes m = f.modes();
            if (pick(0, 2) == 0) {
              m.alternate_screen = !m.alternate_screen;
              f.set_modes(m);
              if (m.alternate_screen) f.erase({0, 0, rows, cols}, {});
            } else {
              m.bracketed_paste = pick(0, 1);
              m.mouse_tracking = static_cast<MouseTracking>(pick(0, 3));
              f.set_modes(m);
            }
            break;
          }
          case 9:
            if (pick(0, 3) == 0) {
              t.feed(fmt::format("\x1b[{};{}H\x1b[3{}mgarbage\x1b[0m", pick(1, trows), pick(1, tcols), pick(0, 7)));
              d.invalidate();
            }
            break;
          case 10: f.set_title(fmt::format("title {}", pick(0, 3))); break;
          default: {  // a character at the end of the bottom row
            put(f, cols - 1, rows - 1, static_cast<uint32_t>('A' + pick(0, 25)), pen());
            break;
          }
        }
      }
      const size_t pushed = t.pushed.size();
      std::string out;
      d.draw(f, out);
      REQUIRE(max_csi_args(out) <= 16);  // more crash libvterm 0.1.4
      t.feed(crlf ? onlcr(out) : out);
      ++draws;
      bytes += out.size();
      const std::string bad = mismatch(t, f);
      if (!bad.empty()) {
        INFO("sequence ", seq, " step ", step, " size ", cols, "x", rows, " on ", tcols, "x", trows,
             crlf ? " onlcr" : "");
        INFO("output ", fmt::format("{:?}", out));
        FAIL(bad);
      }
      if (f.modes().alternate_screen) REQUIRE(t.pushed.size() == pushed);
      if (f.title() != t.title && !f.title().empty()) FAIL("title");
    }
    t.feed(crlf ? onlcr(d.close()) : d.close());
    CHECK(t.cursor_visible);
  }
  MESSAGE(draws, " random frames, ", bytes, " bytes");
}

TEST_CASE("cost of a full 200x60 frame and of a one-line change") {
  const int cols = 200, rows = 60;
  Screen a(cols, rows);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x)
      put(a, x, y, static_cast<uint32_t>('!' + (x * 7 + y) % 90),
          Pen{Color::index(static_cast<uint8_t>(x / 20)), {}, 0});
  Screen b = a;
  write(b, 0, rows / 2, std::string(cols, 'x'));
  Display d(cols, rows);
  d.open();
  std::string out;
  out.reserve(1 << 20);

  // Microseconds per call, the best of several batches: the machine is shared.
  const auto time = [&](auto&& fn) {
    double best = 1e9;
    for (int batch = 0; batch < 10; ++batch) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < 20; ++i) fn();
      best = std::min(best,
                      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / 20);
    }
    return best;
  };
  size_t full_bytes = 0, line_bytes = 0;
  const double full_us = time([&] {
    out.clear();
    d.invalidate();
    d.draw(a, out);
    full_bytes = out.size();
  });
  bool flip = false;
  const double line_us = time([&] {
    out.clear();
    d.draw((flip = !flip) ? b : a, out);
    line_bytes = out.size();
  });
  const double same_us = time([&] {
    out.clear();
    d.draw(a, out);
  });
  CHECK(out.empty());

  Vt t(cols, rows);
  t.feed(d.open());
  out.clear();
  d.draw(a, out);
  t.feed(out);
  CHECK(mismatch(t, a) == "");
  out.clear();
  d.draw(b, out);
  t.feed(out);
  CHECK(mismatch(t, b) == "");
  CHECK(full_bytes < static_cast<size_t>(cols * rows * 13 / 10));
  CHECK(line_bytes < static_cast<size_t>(cols + 100));  // 200 cells, 10 colour changes
  MESSAGE(
      fmt::format("200x60 full paint: {} bytes, {:.0f} us; one-line change: {} bytes, {:.1f} us; "
                  "unchanged frame: {:.1f} us",
                  full_bytes, full_us, line_bytes, line_us, same_us));
}
