// mux::Terminal's resizes: rows off the top to scrollback, lines re-wrapped
// on a width change, and libvterm writing on where the text went.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/unit/term.h"

using roam::Row;
using roam::test::cell;
using roam::test::Term;
using roam::test::text;

TEST_CASE("resize") {
  Term t(10, 6);
  for (int i = 0; i < 6; ++i) t << (i ? "\r\n" : "") << "row" << std::to_string(i);

  SUBCASE("fewer rows push the top ones to scrollback, the cursor stays on its row") {
    t.t.resize(10, 4);
    CHECK(t.scrolled == std::vector<std::string>{"row0", "row1"});
    CHECK(text(t.t, 0) == "row2");
    CHECK(text(t.t, 3) == "row5");
    CHECK(t.screen().cursor().y == 3);
    t << "!";
    CHECK(text(t.t, 3) == "row5!");
  }
  SUBCASE("blank rows under the cursor go first") {
    t << "\x1b[3;1H\x1b[J";
    t.t.resize(10, 4);
    CHECK(t.scrolled.empty());
    CHECK(text(t.t, 0) == "row0");
    CHECK(t.screen().cursor().y == 2);
  }
  SUBCASE("fewer columns re-wrap rows; more rows and columns are blank") {
    t.t.resize(3, 8);
    CHECK(t.scrolled == std::vector<std::string>{"row", "0", "row", "1"});
    CHECK(text(t.t, 0) == "row");
    CHECK(text(t.t, 1) == "2");
    CHECK(text(t.t, 7) == "5");
    t.t.resize(12, 8);
    CHECK(text(t.t, 0) == "row2");
    CHECK(text(t.t, 3) == "row5");
    CHECK(text(t.t, 7) == "");
    CHECK(t.screen().cols() == 12);
    t << "\x1b[1;12HZ";
    CHECK(cell(t.t, 11, 0).ch == 'Z');
  }
  SUBCASE("with the cursor high up, rows below it go") {
    t << "\x1b[2;1H";
    t.t.resize(10, 3);
    CHECK(t.scrolled == std::vector<std::string>{"row0"});
    CHECK(text(t.t, 0) == "row1");
    CHECK(text(t.t, 2) == "row3");
    CHECK(t.screen().cursor().y == 0);
    t << "\x1b[3;1H\n\nok";
    CHECK(text(t.t, 2) == "ok");
  }
  SUBCASE("a scroll region beyond the new size is reset") {
    t << "\x1b[4;6r\x1b[5;1H";
    t.t.resize(10, 2);
    t << "\n\n\nx";
    CHECK(text(t.t, 1) == "x");
  }
  SUBCASE("a cursor saved further down than the new size is restored onto the screen") {
    t << "\x1b[6;8H\x1b" "7\x1b[?1049h";
    t.t.resize(5, 3);
    t << "\x1b[?1049lA\x1b" "8B";
    CHECK(t.screen().cursor().y == 2);
    CHECK(cell(t.t, 4, 2).ch == 'B');
  }
  SUBCASE("in the alternate screen, the primary's rows still go to scrollback") {
    t << "\x1b[?1049h" "alt";
    t.t.resize(10, 3);
    CHECK(t.scrolled == std::vector<std::string>{"row0", "row1", "row2"});
    t << "\x1b[?1049l";
    CHECK(text(t.t, 0) == "row3");
  }
}

TEST_CASE("a width change re-wraps lines and libvterm writes on where the text went") {
  SUBCASE("narrower: the next character lands after the moved text") {
    Term t(20, 4);
    t << "abcdefghij";
    t.t.resize(4, 4);
    CHECK(text(t.t, 0) == "abcd");
    CHECK(text(t.t, 2) == "ij");
    CHECK(t.screen().cursor().x == 2);
    CHECK(t.screen().cursor().y == 2);
    t << "XY";
    CHECK(text(t.t, 2) == "ijXY");
    t << "Z";
    CHECK(text(t.t, 3) == "Z");
    CHECK(t.screen().row(2).wrapped);
  }
  SUBCASE("text that now ends at the right edge keeps the wrap pending") {
    Term t(10, 4);
    t << "abcdefgh";
    t.t.resize(4, 4);
    CHECK(text(t.t, 1) == "efgh");
    CHECK(t.screen().cursor().x == 3);
    CHECK(t.screen().cursor().y == 1);
    t << "X";
    CHECK(text(t.t, 1) == "efgh");
    CHECK(t.screen().row(1).wrapped);
    CHECK(text(t.t, 2) == "X");
  }
  SUBCASE("a pending wrap that no longer ends a row: the cursor goes past the glyph") {
    Term t(4, 4);
    t << "abcd";
    t.t.resize(10, 4);
    CHECK(t.screen().cursor().x == 4);
    t << "e";
    CHECK(text(t.t, 0) == "abcde");
    CHECK_FALSE(t.screen().row(0).wrapped);
  }
  SUBCASE("wider: wrapped rows join and writing goes on at their end") {
    Term t(4, 4);
    t << "abcdefghij";
    REQUIRE(t.screen().row(0).wrapped);
    t.t.resize(20, 4);
    CHECK(text(t.t, 0) == "abcdefghij");
    CHECK_FALSE(t.screen().row(0).wrapped);
    CHECK(text(t.t, 1) == "");
    t << "K";
    CHECK(text(t.t, 0) == "abcdefghijK");
  }
  SUBCASE("a combining mark after a resize joins the character before it") {
    Term t(10, 3);
    t << "abcde";
    t.t.resize(3, 3);
    t << "\xcc\x81";
    CHECK(t.screen().row(1).marks == std::vector<std::pair<uint16_t, std::u32string>>{{1, U"\u0301"}});
    CHECK(text(t.t, 1) == "de");
  }
  SUBCASE("rows pushed off the top reach scrollback first, with their wrapped flags") {
    Term t(10, 3);
    std::vector<bool> flags;
    t.t.on_scrollback = [&](const Row& r) {
      t.scrolled.push_back(text(r));
      flags.push_back(r.wrapped);
    };
    t << "0123456789abc\r\nxy";
    t.t.resize(5, 3);
    CHECK(t.scrolled == std::vector<std::string>{"01234"});
    CHECK(flags == std::vector<bool>{true});
    CHECK(text(t.t, 0) == "56789");
    CHECK(text(t.t, 1) == "abc");
    CHECK(text(t.t, 2) == "xy");
  }
  SUBCASE("a saved cursor goes with its text") {
    Term t(20, 4);
    t << "abcdefghij\x1b" "7\r\nnext";
    t.t.resize(4, 6);
    t << "\x1b" "8X";
    CHECK(text(t.t, 2) == "ijX");
  }
  SUBCASE("the primary screen behind the alternate one re-wraps; leaving it puts the cursor after its text") {
    Term t(20, 4);
    t << "abcdefghij\x1b[?1049h\x1b[Hfull screen";
    t.t.resize(4, 6);
    CHECK(text(t.t, 0) == "full");  // the alternate screen is cut, not re-wrapped
    CHECK(text(t.t, 1) == "");
    t << "\x1b[?1049lX";
    CHECK(text(t.t, 0) == "abcd");
    CHECK(text(t.t, 2) == "ijX");
  }
  SUBCASE("double-width lines are made single, as the screen shows them") {
    Term t(10, 4);
    t << "abcdefghijkl\r\n\x1b#6";
    t.t.resize(5, 6);
    t << "\x1b[3;1H123456";
    CHECK(text(t.t, 2) == "12345");
    CHECK(text(t.t, 3) == "6");
  }
}

namespace {

// History and the screen as lines: rows joined by their wrapped flags, the
// trailing empty ones left out.
std::vector<std::string> joined(const std::vector<Row>& history, const Term& t) {
  std::vector<Row> all = history;
  for (int y = 0; y < t.screen().rows(); ++y) all.push_back(t.screen().row(y));
  std::vector<std::string> lines{""};
  for (const Row& r : all) {
    lines.back() += text(r);
    if (!r.wrapped) lines.emplace_back();
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Prints lines of 0-70 characters, some wide, with no spaces (so a row's
// text needs no trailing blanks), the last one ended by a line feed or not,
// then squeezes and stretches the terminal through random sizes: history
// and screen must always hold the same lines, and what comes next must
// follow them.
void squeeze_and_stretch(bool ended) {
  std::vector<std::string> printed, expected;
  uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245 + 12345, seed >> 16; };
  for (int i = 0; i < 60; ++i) {
    std::string bytes = "L" + std::to_string(i), shown = bytes;
    for (uint32_t n = next() % 70; n > 0; --n) {
      if (next() % 9 == 0) {
        bytes += "\xe4\xb8\xad";  // 中
        shown += '?';
      } else {
        bytes += static_cast<char>('!' + next() % 94);
        shown += bytes.back();
      }
    }
    printed.push_back(bytes);
    expected.push_back(shown);
  }
  // Sizes from 3x2 up: libvterm 0.1.4 itself adds blank lines at 2 columns
  // or fewer, and a single row loses the wrap of what leaves it.
  for (int round = 0; round < 30; ++round) {
    std::vector<std::pair<int, int>> sizes;
    for (int k = 0; k < 10; ++k)
      sizes.emplace_back(3 + static_cast<int>(next() % 90), 2 + static_cast<int>(next() % 30));
    Term t(sizes[0].first, sizes[0].second);
    std::vector<Row> history;
    t.t.on_scrollback = [&](const Row& r) { history.push_back(r); };
    for (size_t k = 0; k < printed.size(); ++k) t << printed[k] << (ended || k + 1 < printed.size() ? "\r\n" : "");
    for (const auto& [cols, rows] : sizes) {
      CAPTURE(round);
      CAPTURE(cols);
      CAPTURE(rows);
      t.t.resize(cols, rows);
      REQUIRE(joined(history, t) == expected);
    }
    t << "end";
    std::vector<std::string> more = expected;
    if (ended)
      more.emplace_back("end");
    else
      more.back() += "end";
    CHECK(joined(history, t) == more);
  }
}

}  // namespace

TEST_CASE("attack: no sequence of sizes loses or changes a line") {
  SUBCASE("after a line feed") { squeeze_and_stretch(true); }
  SUBCASE("with the cursor still on the last line") { squeeze_and_stretch(false); }
}
