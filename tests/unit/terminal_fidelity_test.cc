// The terminal against what xterm and the VT100 show for the same bytes:
// the saved cursor, combining marks without a base, colours and attributes,
// selective erase, DECCOLM (issue 16).
#include <doctest/doctest.h>

#include <string>

#include "mux/terminal.h"
#include "tests/unit/term.h"

using roam::Cell;
using roam::Color;
using roam::test::cell;
using roam::test::Term;
using roam::test::text;

namespace {

constexpr uint32_t hline = 0x2500;  // what DEC line drawing makes of 'q'

int underline(const Cell& c) { return (c.attrs & roam::attr_underline_mask) >> roam::attr_underline_shift; }

}  // namespace

TEST_CASE("DECRC gives back the character set DECSC saw, over a designation made since") {
  Term t(10, 3);
  t << "\x1b(0\x1b" "7\x1b(Bqqq\x1b" "8qqq";
  for (int x = 0; x < 3; ++x) CHECK(cell(t.t, x, 0).ch == hline);
  SUBCASE("and the text after it is still line drawing") {
    t << "q";
    CHECK(cell(t.t, 3, 0).ch == hline);
  }
  SUBCASE("CSI s and CSI u do the same") {
    t << "\r\n\x1b(0\x1b[s\x1b(Bqqq\x1b[uqqq";
    for (int x = 0; x < 3; ++x) CHECK(cell(t.t, x, 1).ch == hline);
  }
}

TEST_CASE("DECRC gives back the shift state: SO saved, SI since") {
  Term t(10, 3);
  t << "\x1b)0\x0e\x1b" "7\x0fqq\x1b" "8qq";
  CHECK(cell(t.t, 0, 0).ch == hline);
  CHECK(cell(t.t, 1, 0).ch == hline);
  t << "\x0fq";
  CHECK(cell(t.t, 2, 0).ch == 'q');
}

TEST_CASE("DECRC gives back origin mode and the position in it") {
  Term t(10, 6);
  t << "\x1b[3;5r\x1b[?6h\x1b[2;3H\x1b" "7\x1b[?6l\x1b[H\x1b" "8";
  CHECK(t.screen().cursor().y == 3);
  CHECK(t.screen().cursor().x == 2);
  // Still in origin mode: CUP is relative to the region.
  t << "\x1b[1;1H";
  CHECK(t.screen().cursor().y == 2);
}

TEST_CASE("DECRC gives back the pen, faint included") {
  Term t(10, 3);
  t << "\x1b[2;31m\x1b" "7\x1b[0;32mA\x1b" "8B";
  CHECK(cell(t.t, 0, 0).ch == 'B');
  CHECK(cell(t.t, 0, 0).fg == Color::index(1));
  CHECK((cell(t.t, 0, 0).attrs & roam::attr_faint) != 0);
}

TEST_CASE("CSI s does not set margins without DECLRMM, and CSI u comes back") {
  Term t(10, 3);
  t << "ab\x1b[sxy\x1b[ucd";
  CHECK(text(t.t, 0) == "abcd");
  SUBCASE("with DECLRMM, CSI s sets margins (homing the cursor) and saves nothing") {
    t << "\r\n\x1b[?69hab\x1b[scd\x1b[uX";
    CHECK(text(t.t, 0) == "cdXd");  // X where the first CSI s saved
    CHECK(text(t.t, 1) == "ab");
  }
}

TEST_CASE("DECCOLM clears the screen and homes the cursor though the size stays") {
  for (const char* seq : {"\x1b[?3h", "\x1b[?3l"}) {
    Term t(10, 4);
    t << "\x1b[2;3rhello\r\nworld" << seq;
    CHECK(text(t.t, 0).empty());
    CHECK(text(t.t, 1).empty());
    CHECK(t.screen().cursor().x == 0);
    CHECK(t.screen().cursor().y == 0);
    CHECK(t.screen().cols() == 10);
    // The margins were reset too: text reaches the last row and scrolls.
    t << "\x1b[4;1Hx\r\ny";
    CHECK(text(t.t, 2) == "x");
    CHECK(text(t.t, 3) == "y");
  }
}

TEST_CASE("a combining mark with no character before it is drawn on a no-break space") {
  Term t(10, 4);
  t << "abc\r\n\xcc\x82\r\ndef\r\n";
  CHECK(text(t.t, 0) == "abc");
  CHECK(cell(t.t, 0, 1).ch == 0xa0);
  REQUIRE(t.screen().row(1).marks.size() == 1);
  CHECK(t.screen().row(1).marks[0].second == U"\u0302");
  CHECK(text(t.t, 2) == "def");
  SUBCASE("it takes its cell: text after it in the same write goes beside it") {
    t << "\x1b[4;1H\xcc\x82\xcc\x83xy";
    CHECK(cell(t.t, 0, 3).ch == 0xa0);
    REQUIRE(t.screen().row(3).marks.size() == 1);
    CHECK(t.screen().row(3).marks[0].second == U"\u0302\u0303");
    CHECK(text(t.t, 3) == "?xy");
    CHECK(t.screen().cursor().x == 3);
  }
  SUBCASE("written byte by byte, the same") {
    Term u(10, 4);
    for (char c : std::string("abc\r\n\xcc\x82\r\ndef\r\n")) u << std::string(1, c);
    CHECK(u.screen() == t.screen());
  }
  SUBCASE("a mark after a character still joins it") {
    t << "e\xcc\x81";
    CHECK(cell(t.t, 0, 3).ch == 'e');
    CHECK(t.screen().row(3).marks.size() == 1);
    CHECK(t.screen().cursor().x == 1);
  }
}

TEST_CASE("38;5;N and 48;5;N below 16 stay palette colours, apart from SGR 30-37 and 90-97") {
  Term t(10, 3);
  t << "\x1b[38;5;1mA\x1b[48;5;9mB\x1b[31;41mC\x1b[38:5:12mD\x1b[38;5;100mE";
  CHECK(cell(t.t, 0, 0).fg == Color::index256(1));
  CHECK(cell(t.t, 0, 0).fg != Color::index(1));
  CHECK(cell(t.t, 1, 0).bg == Color::index256(9));
  CHECK(cell(t.t, 2, 0).fg == Color::index(1));
  CHECK(cell(t.t, 2, 0).bg == Color::index(1));
  CHECK(cell(t.t, 3, 0).fg == Color::index256(12));
  CHECK(cell(t.t, 4, 0).fg == Color::index(100));
  t << "\x1b[0mF";
  CHECK(cell(t.t, 5, 0).fg == Color::none());
  CHECK(cell(t.t, 5, 0).bg == Color::none());
}

TEST_CASE("SGR 58 sets the underline colour, in both forms, and 58;5;196 is not blink") {
  Term t(12, 3);
  t << "\x1b[4;58;5;196mA\x1b[58:2::10:20:30mB\x1b[58;2;1;2;3;1mC\x1b[58:2:4:5:6mD\x1b[59mE\x1b[58:5:7m\x1b[0mF";
  CHECK(cell(t.t, 0, 0).ul == Color::index(196));
  CHECK((cell(t.t, 0, 0).attrs & roam::attr_blink) == 0);
  CHECK(underline(cell(t.t, 0, 0)) == roam::underline_single);
  CHECK(cell(t.t, 1, 0).ul == Color::from_rgb(10, 20, 30));
  CHECK(cell(t.t, 2, 0).ul == Color::from_rgb(1, 2, 3));
  CHECK((cell(t.t, 2, 0).attrs & roam::attr_bold) != 0);  // what follows 58;2;R;G;B still counts
  CHECK((cell(t.t, 2, 0).attrs & roam::attr_blink) == 0);
  CHECK(cell(t.t, 3, 0).ul == Color::from_rgb(4, 5, 6));
  CHECK(cell(t.t, 4, 0).ul == Color::none());
  CHECK(cell(t.t, 5, 0).ul == Color::none());
  CHECK(cell(t.t, 5, 0).attrs == 0);
  SUBCASE("an SGR of 58;5;N alone changes nothing else") {
    t << "\x1b[1m\x1b[58;5;3mG";
    CHECK((cell(t.t, 6, 0).attrs & roam::attr_bold) != 0);
    CHECK(cell(t.t, 6, 0).ul == Color::index(3));
  }
}

TEST_CASE("underline styles 4:N are kept") {
  Term t(10, 3);
  t << "\x1b[4:3mA\x1b[4:4mB\x1b[4:5mC\x1b[4:0mD\x1b[21mE\x1b[4mF\x1b[4:2mG\x1b[24mH\x1b[4:9mI";
  const auto style = [&](int x) { return underline(cell(t.t, x, 0)); };
  CHECK(style(0) == roam::underline_curly);
  CHECK(style(1) == roam::underline_dotted);
  CHECK(style(2) == roam::underline_dashed);
  CHECK(style(3) == roam::underline_none);
  CHECK(style(4) == roam::underline_double);
  CHECK(style(5) == roam::underline_single);
  CHECK(style(6) == roam::underline_double);
  CHECK(style(7) == roam::underline_none);
  CHECK(style(8) == roam::underline_single);
}

TEST_CASE("the saved cursor keeps what libvterm does not: underline colour and style, palette colours") {
  Term t(10, 3);
  t << "\x1b[38;5;3;58;5;4;4:4m\x1b" "7\x1b[0mx\x1b" "8y";
  CHECK(cell(t.t, 0, 0).ch == 'y');
  CHECK(cell(t.t, 0, 0).fg == Color::index256(3));
  CHECK(cell(t.t, 0, 0).ul == Color::index(4));
  CHECK(underline(cell(t.t, 0, 0)) == roam::underline_dotted);
}

TEST_CASE("selective erase leaves what DECSCA protected; other erases take it") {
  Term t(10, 3);
  t << "\x1b[1\"qAB\x1b[0\"qCD\x1b[2\"qE\x1b[1\"qF\x1b[0\"q\r\nGH\x1b[1\"qIJ\x1b[0\"qK";
  t << "\x1b[?2J";  // DECSED: the whole screen
  CHECK(text(t.t, 0) == "AB   F");
  CHECK(text(t.t, 1) == "  IJ");
  SUBCASE("DECSEL, the line") {
    t << "\x1b[1;1H\x1b[?2K";
    CHECK(text(t.t, 0) == "AB   F");
  }
  SUBCASE("DECSEL from the cursor, over a protected wide character") {
    t << "\x1b[3;1H\x1b[1\"q\xe4\xb8\xad\x1b[0\"qxy\x1b[3;1H\x1b[?0K";
    CHECK(cell(t.t, 0, 2).ch == 0x4e2d);
    CHECK(text(t.t, 2) == "?");
  }
  SUBCASE("ED and EL erase protected cells too") {
    t << "\x1b[2J";
    CHECK(text(t.t, 0).empty());
    CHECK(text(t.t, 1).empty());
  }
  SUBCASE("the protection is saved with the cursor, and is no rendition") {
    t << "\x1b[3;1H\x1b[1\"q\x1b" "7\x1b[0\"q\x1b" "8Z\x1b[0mY\x1b[?2K";
    CHECK(text(t.t, 2) == "ZY");
    CHECK(cell(t.t, 0, 2).pen().look() == roam::Pen{});
  }
}
