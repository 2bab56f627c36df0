#include "mux/terminal.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/term.h"

using roam::Cell;
using roam::Color;
using roam::CursorShape;
using roam::MouseEncoding;
using roam::MouseTracking;
using roam::Row;
using roam::Screen;
using roam::mux::Terminal;
using roam::test::cell;
using roam::test::Term;
using roam::test::text;

namespace {

std::vector<uint64_t> versions(const Terminal& t) {
  std::vector<uint64_t> v;
  for (int y = 0; y < t.screen().rows(); ++y) v.push_back(t.screen().version(y));
  return v;
}

}  // namespace

TEST_CASE("text and the cursor") {
  Term t(10, 3);
  t << "hello\r\nworld";
  CHECK(text(t.t, 0) == "hello");
  CHECK(text(t.t, 1) == "world");
  CHECK(t.screen().cursor().x == 5);
  CHECK(t.screen().cursor().y == 1);
  t << "\x1b[3;2H";
  CHECK(t.screen().cursor().x == 1);
  CHECK(t.screen().cursor().y == 2);
}

TEST_CASE("wrapping at the last column sets the wrapped flag") {
  Term t(5, 3);
  t << "abcdefg";
  CHECK(text(t.t, 0) == "abcde");
  CHECK(text(t.t, 1) == "fg");
  CHECK(t.screen().row(0).wrapped);
  CHECK_FALSE(t.screen().row(1).wrapped);

  SUBCASE("a full line ended by CR LF is not wrapped") {
    t << "\r\n12345\r\nx";
    CHECK(text(t.t, 1) == "12345");
    CHECK_FALSE(t.screen().row(1).wrapped);
    CHECK(text(t.t, 2) == "x");
  }
  SUBCASE("wrapping at the bottom scrolls, the flag moves with the row") {
    t << "\r\n1234567890123";
    CHECK(t.scrolled == std::vector<std::string>{"abcde", "fg"});
    CHECK(text(t.t, 0) == "12345");
    CHECK(t.screen().row(0).wrapped);
    CHECK(text(t.t, 1) == "67890");
    CHECK(t.screen().row(1).wrapped);
    CHECK(text(t.t, 2) == "123");
    CHECK_FALSE(t.screen().row(2).wrapped);
  }
  SUBCASE("rows reach scrollback with their wrapped flag") {
    std::vector<bool> flags;
    t.t.on_scrollback = [&](const Row& r) { flags.push_back(r.wrapped); };
    t << "\r\n\n\n";
    CHECK(flags == std::vector<bool>{true, false});
  }
  SUBCASE("the wrap survives a write boundary") {
    Term u(5, 3);
    u << "abcde";
    u << "f";
    CHECK(u.screen().row(0).wrapped);
  }
  SUBCASE("a wide character that does not fit wraps early") {
    Term u(5, 3);
    u << "abcd\xe4\xb8\xad";
    CHECK(text(u.t, 0) == "abcd");
    CHECK(u.screen().row(0).wrapped);
    CHECK(cell(u.t, 0, 1).ch == 0x4e2d);
  }
  SUBCASE("cursor motion between is no wrap") {
    Term u(5, 3);
    u << "abcde\x1b[2;1Hx";
    CHECK_FALSE(u.screen().row(0).wrapped);
  }
  SUBCASE("erasing the row ends the wrap") {
    t << "\x1b[1;1H\x1b[2K";
    CHECK_FALSE(t.screen().row(0).wrapped);
  }
}

TEST_CASE("scroll regions") {
  Term t(4, 6);
  for (int i = 0; i < 6; ++i) t << (i ? "\r\n" : "") << std::to_string(i);
  t << "\x1b[2;4r";  // rows 2-4; the cursor goes home

  SUBCASE("line feed at the region's bottom scrolls only the region") {
    t << "\x1b[4;1H\nA\r\nB";
    CHECK(text(t.t, 0) == "0");
    CHECK(text(t.t, 1) == "3");
    CHECK(text(t.t, 2) == "A");
    CHECK(text(t.t, 3) == "B");
    CHECK(text(t.t, 4) == "4");
    CHECK(text(t.t, 5) == "5");
    CHECK(t.scrolled.empty());  // not a region at the top of the screen
  }
  SUBCASE("reverse index at the region's top scrolls down") {
    t << "\x1b[2;1H\x1bMR";
    CHECK(text(t.t, 0) == "0");
    CHECK(text(t.t, 1) == "R");
    CHECK(text(t.t, 2) == "1");
    CHECK(text(t.t, 3) == "2");
    CHECK(text(t.t, 4) == "4");
  }
  SUBCASE("a region from the top row feeds scrollback") {
    t << "\x1b[1;3r\x1b[3;1H\n\n";
    CHECK(t.scrolled == std::vector<std::string>{"0", "1"});
    CHECK(text(t.t, 0) == "2");
    CHECK(text(t.t, 3) == "3");
  }
  SUBCASE("scroll up and down (SU, SD)") {
    t << "\x1b[S";
    CHECK(text(t.t, 1) == "2");
    CHECK(text(t.t, 3) == "");
    t << "\x1b[2T";
    CHECK(text(t.t, 1) == "");
    CHECK(text(t.t, 2) == "");
    CHECK(text(t.t, 3) == "2");
  }
}

TEST_CASE("insert and delete lines and characters") {
  Term t(6, 4);
  t << "aaa\r\nbbb\r\nccc\r\nddd";
  SUBCASE("IL") {
    t << "\x1b[2;1H\x1b[L";
    CHECK(text(t.t, 1) == "");
    CHECK(text(t.t, 2) == "bbb");
    CHECK(text(t.t, 3) == "ccc");
  }
  SUBCASE("DL") {
    t << "\x1b[2;1H\x1b[2M";
    CHECK(text(t.t, 1) == "ddd");
    CHECK(text(t.t, 2) == "");
    CHECK(t.scrolled.empty());
  }
  SUBCASE("ICH") {
    t << "\x1b[1;2H\x1b[2@";
    CHECK(text(t.t, 0) == "a  aa");
  }
  SUBCASE("DCH") {
    t << "\x1b[1;1H\x1b[P";
    CHECK(text(t.t, 0) == "aa");
  }
  SUBCASE("insert mode") {
    t << "\x1b[1;1H\x1b[4hXY\x1b[4l";
    CHECK(text(t.t, 0) == "XYaaa");
  }
}

TEST_CASE("erasing: ED, EL, ECH") {
  Term t(5, 3);
  t << "11111\r\n22222\r\n33333\x1b[2;3H";
  SUBCASE("ED 0") {
    t << "\x1b[J";
    CHECK(text(t.t, 0) == "11111");
    CHECK(text(t.t, 1) == "22");
    CHECK(text(t.t, 2) == "");
  }
  SUBCASE("ED 1") {
    t << "\x1b[1J";
    CHECK(text(t.t, 0) == "");
    CHECK(text(t.t, 1) == "   22");
    CHECK(text(t.t, 2) == "33333");
  }
  SUBCASE("ED 2") {
    t << "\x1b[2J";
    for (int y = 0; y < 3; ++y) CHECK(text(t.t, y) == "");
    CHECK(t.scrolled.empty());
  }
  SUBCASE("EL 0, 1, 2") {
    t << "\x1b[K";
    CHECK(text(t.t, 1) == "22");
    t << "\x1b[3;3H\x1b[1K";
    CHECK(text(t.t, 2) == "   33");
    t << "\x1b[1;3H\x1b[2K";
    CHECK(text(t.t, 0) == "");
  }
  SUBCASE("ECH") {
    t << "\x1b[2X";
    CHECK(text(t.t, 1) == "22  2");
  }
  SUBCASE("erase takes the background colour") {
    t << "\x1b[44m\x1b[2K";
    CHECK(cell(t.t, 0, 1).bg == Color::index(4));
  }
}

TEST_CASE("wide characters and combining marks") {
  Term t(10, 2);
  t << "\xe4\xb8\xad\xf0\x9f\x98\x80x";  // 中 😀 x
  CHECK(cell(t.t, 0, 0).ch == 0x4e2d);
  CHECK(cell(t.t, 0, 0).width == 2);
  CHECK(cell(t.t, 1, 0).ch == Cell::wide_tail);
  CHECK(cell(t.t, 2, 0).ch == 0x1f600);
  CHECK(cell(t.t, 2, 0).width == 2);
  CHECK(cell(t.t, 4, 0).ch == 'x');
  CHECK(t.screen().cursor().x == 5);

  t << "\r\ne\xcc\x81z";  // e + U+0301
  CHECK(cell(t.t, 0, 1).ch == 'e');
  CHECK(cell(t.t, 1, 1).ch == 'z');
  REQUIRE(t.screen().row(1).marks.size() == 1);
  CHECK(t.screen().row(1).marks[0].first == 0);
  CHECK(t.screen().row(1).marks[0].second == U"\u0301");

  SUBCASE("a mark in the next write joins its character") {
    t << "\r\na";
    t << "\xcc\x88";
    CHECK(t.screen().row(1).marks[0].first == 0);
    CHECK(t.screen().row(1).marks[0].second == U"\u0308");
  }
}

TEST_CASE("the alternate screen keeps the primary and feeds no scrollback") {
  Term t(6, 3);
  t << "one\r\ntwo\r\nthree";
  const Screen before = t.screen();
  t << "\x1b[?1049h";
  CHECK(t.screen().modes().alternate_screen);
  for (int y = 0; y < 3; ++y) CHECK(text(t.t, y) == "");
  for (int i = 0; i < 10; ++i) t << "line\r\n";
  CHECK(t.scrolled.empty());
  t << "\x1b[?1049l";
  CHECK_FALSE(t.screen().modes().alternate_screen);
  CHECK(text(t.t, 0) == "one");
  CHECK(text(t.t, 2) == "three");
  CHECK(t.screen().cursor().x == before.cursor().x);
  CHECK(t.screen().cursor().y == before.cursor().y);
  CHECK(t.screen() == before);

  SUBCASE("1047 too, and a second entry finds it cleared") {
    t << "\x1b[?1047hjunk\x1b[?1047l\x1b[?1047h";
    CHECK(text(t.t, 0) == "");
    t << "\x1b[?1047l";
    CHECK(text(t.t, 0) == "one");
  }
  SUBCASE("a hard reset leaves it") {
    t << "\x1b[?1049h\x1b" "c";
    CHECK_FALSE(t.screen().modes().alternate_screen);
    for (int y = 0; y < 3; ++y) CHECK(text(t.t, y) == "");
  }
}

TEST_CASE("SGR: styles and colours") {
  Term t(40, 2);
  auto attrs = [&](int x) { return cell(t.t, x, 0).attrs; };
  t << "\x1b[1ma\x1b[2mb\x1b[3mc\x1b[4md\x1b[5me\x1b[7mf\x1b[8mg\x1b[9mh\x1b[0mi";
  CHECK(attrs(0) == roam::attr_bold);
  CHECK(attrs(1) == (roam::attr_bold | roam::attr_faint));
  CHECK((attrs(2) & roam::attr_italic) != 0);
  CHECK((attrs(3) & roam::attr_underline_mask) == 1 << roam::attr_underline_shift);
  CHECK((attrs(4) & roam::attr_blink) != 0);
  CHECK((attrs(5) & roam::attr_reverse) != 0);
  CHECK((attrs(6) & roam::attr_conceal) != 0);
  CHECK(attrs(7) == (roam::attr_bold | roam::attr_faint | roam::attr_italic | (1 << roam::attr_underline_shift) |
                     roam::attr_blink | roam::attr_reverse | roam::attr_conceal | roam::attr_strike));
  CHECK(attrs(8) == 0);

  t << "\x1b[2;8mj\x1b[22mk\x1b[28ml\x1b[4:3mm\x1b[21mn\x1b[m";
  CHECK(attrs(9) == (roam::attr_faint | roam::attr_conceal));
  CHECK(attrs(10) == roam::attr_conceal);
  CHECK(attrs(11) == 0);
  CHECK(((attrs(12) & roam::attr_underline_mask) >> roam::attr_underline_shift) == 3);
  CHECK(((attrs(13) & roam::attr_underline_mask) >> roam::attr_underline_shift) == 2);

  t << "\x1b[31;42mo\x1b[38;5;208;48;5;17mp\x1b[38;2;1;2;3;48:2::4:5:6mq\x1b[39;49mr\x1b[95ms\x1b[0m";
  CHECK(cell(t.t, 14, 0).fg == Color::index(1));
  CHECK(cell(t.t, 14, 0).bg == Color::index(2));
  CHECK(cell(t.t, 15, 0).fg == Color::index(208));
  CHECK(cell(t.t, 15, 0).bg == Color::index(17));
  CHECK(cell(t.t, 16, 0).fg == Color::from_rgb(1, 2, 3));
  CHECK(cell(t.t, 17, 0).fg == Color::none());
  CHECK(cell(t.t, 17, 0).bg == Color::none());
  CHECK(cell(t.t, 18, 0).fg == Color::index(13));

  SUBCASE("colour components are not styles") {
    t << "\x1b[38;5;2mu\x1b[48;2;8;2;8mv";
    CHECK(attrs(19) == 0);
    CHECK(attrs(20) == 0);
    CHECK(cell(t.t, 19, 0).fg == Color::index256(2));  // 38;5;2, not 32
    CHECK(cell(t.t, 20, 0).bg == Color::from_rgb(8, 2, 8));
  }
  SUBCASE("save and restore cursor bring faint back") {
    t << "\x1b[2m\x1b" "7\x1b[22m\x1b" "8w";
    CHECK(attrs(19) == roam::attr_faint);
  }
  SUBCASE("a style sequence split across writes") {
    t << "\x1b[";
    t << "2";
    t << "mz";
    CHECK(attrs(19) == roam::attr_faint);
  }
}

TEST_CASE("title and icon name") {
  Term t(10, 2);
  t << "\x1b]0;both\x07";
  CHECK(t.screen().title() == "both");
  CHECK(t.screen().icon_name() == "both");
  t << "\x1b]2;title\x1b\\";
  CHECK(t.screen().title() == "title");
  CHECK(t.screen().icon_name() == "both");
  t << "\x1b]1;icon\x07";
  CHECK(t.screen().icon_name() == "icon");

  SUBCASE("split across writes") {
    t << "\x1b]2;sp";
    t << "lit\x1b";
    t << "\\after";
    CHECK(t.screen().title() == "split");
    CHECK(text(t.t, 0) == "after");
  }
  SUBCASE("a huge title is capped") {
    t << "\x1b]2;" + std::string(100000, 'x') + "\x07";
    CHECK(t.screen().title().size() == Screen::max_title);
  }
  SUBCASE("a title larger than any OSC we keep is dropped whole") {
    t << "\x1b]2;";
    for (int i = 0; i < 40; ++i) t << std::string(64 << 10, 'y');
    t << "\x07ok";
    CHECK(t.screen().title() == "title");
    CHECK(text(t.t, 0) == "ok");
  }
  SUBCASE("control characters never reach the title") {
    t << "\x1b]2;a\rb\x07";
    CHECK(t.screen().title() == "ab");
  }
}

TEST_CASE("bell") {
  Term t(10, 2);
  t << "\x07x\x07\x07";
  CHECK(t.screen().bell_count() == 3);
  t << "\x1b]2;no bell\x07";  // BEL ending a string is no bell
  CHECK(t.screen().bell_count() == 3);
}

TEST_CASE("OSC 52 sets the clipboard") {
  Term t(10, 2);
  t << "\x1b]52;c;aGVsbG8=\x07";
  CHECK(t.screen().clipboard().selection == "c");
  CHECK(t.screen().clipboard().base64 == "aGVsbG8=");
  CHECK(t.screen().clipboard().serial == 1);
  t << "\x1b]52;;d29ybGQ=\x1b\\";
  CHECK(t.screen().clipboard().selection == "s0");
  CHECK(t.screen().clipboard().base64 == "d29ybGQ=");
  CHECK(t.screen().clipboard().serial == 2);

  SUBCASE("a query is never answered") {
    t << "\x1b]52;c;?\x07";
    CHECK(t.replies.empty());
    CHECK(t.screen().clipboard().serial == 2);
  }
  SUBCASE("large contents in small writes") {
    const std::string data(600000, 'Q');
    t << "\x1b]52;c;";
    for (size_t i = 0; i < data.size(); i += 4096) t << data.substr(i, 4096);
    t << "\x07";
    CHECK(t.screen().clipboard().base64 == data);
  }
  SUBCASE("too large: dropped") {
    t << "\x1b]52;c;" + std::string(Screen::max_clipboard + 100, 'Q') + "\x07";
    CHECK(t.screen().clipboard().base64 == "d29ybGQ=");
  }
}

TEST_CASE("modes a client mirrors") {
  Term t(10, 2);
  auto modes = [&] { return t.screen().modes(); };
  CHECK(modes() == roam::Modes{});

  t << "\x1b[?1h";
  CHECK(modes().app_cursor_keys);
  t << "\x1b[?1l";
  CHECK_FALSE(modes().app_cursor_keys);

  t << "\x1b=";
  CHECK(modes().app_keypad);
  t << "\x1b>";
  CHECK_FALSE(modes().app_keypad);

  t << "\x1b[?2004h";
  CHECK(modes().bracketed_paste);
  t << "\x1b[?1004h";
  CHECK(modes().focus_events);

  t << "\x1b[?1000h";
  CHECK(modes().mouse_tracking == MouseTracking::click);
  t << "\x1b[?1002h";
  CHECK(modes().mouse_tracking == MouseTracking::drag);
  t << "\x1b[?1003h";
  CHECK(modes().mouse_tracking == MouseTracking::motion);
  t << "\x1b[?1006h";
  CHECK(modes().mouse_encoding == MouseEncoding::sgr);
  t << "\x1b[?1005h";
  CHECK(modes().mouse_encoding == MouseEncoding::utf8);
  t << "\x1b[?1006l";  // not the one in force: no change
  CHECK(modes().mouse_encoding == MouseEncoding::utf8);
  t << "\x1b[?1005l\x1b[?1003l";
  CHECK(modes().mouse_encoding == MouseEncoding::x10);
  CHECK(modes().mouse_tracking == MouseTracking::none);

  t << "\x1b[?5h";
  CHECK(modes().reverse_video);
  t << "\x1b[?5l";
  CHECK_FALSE(modes().reverse_video);

  SUBCASE("several modes in one sequence") {
    t << "\x1b[?1;1000;1006;2004l\x1b[?1049;1;1000;1006h";
    CHECK(modes().alternate_screen);
    CHECK(modes().app_cursor_keys);
    CHECK(modes().mouse_tracking == MouseTracking::click);
    CHECK(modes().mouse_encoding == MouseEncoding::sgr);
    CHECK_FALSE(modes().bracketed_paste);
  }
  SUBCASE("split at every byte") {
    for (char c : std::string("\x1b[?2004l\x1b[?1;1004l\x1b=")) t << std::string(1, c);
    CHECK_FALSE(modes().bracketed_paste);
    CHECK_FALSE(modes().app_cursor_keys);
    CHECK_FALSE(modes().focus_events);
    CHECK(modes().app_keypad);
  }
  SUBCASE("hard reset") {
    t << "\x1b[?1h\x1b[?1000h\x1b[?1006h\x1b[2mx\x1b" "cy";
    CHECK(modes() == roam::Modes{});
    CHECK(cell(t.t, 0, 0).attrs == 0);
  }
  SUBCASE("soft reset (DECSTR)") {
    t << "\x1b[?1h\x1b=\x1b[2m\x1b[!pz";
    CHECK_FALSE(modes().app_cursor_keys);
    CHECK_FALSE(modes().app_keypad);
    CHECK(modes().bracketed_paste);
    CHECK(cell(t.t, 0, 0).attrs == 0);
  }
}

TEST_CASE("REP repeats the last character") {
  Term t(10, 3);
  t << "ab\x1b[3bc";
  CHECK(text(t.t, 0) == "abbbbc");
  t << "\r\n\xe4\xb8\xad\x1b[2b";
  CHECK(cell(t.t, 2, 1).ch == 0x4e2d);
  CHECK(cell(t.t, 4, 1).ch == 0x4e2d);
  SUBCASE("with nothing to repeat, nothing happens; a mark alone repeats the space it is drawn on") {
    Term u(10, 3);
    u << "\x1b[5b\xcc\x81\x1b[2bx";
    CHECK(cell(u.t, 0, 0).ch == 0xa0);
    CHECK(cell(u.t, 2, 0).ch == 0xa0);
    CHECK(cell(u.t, 3, 0).ch == 'x');
  }
  SUBCASE("at most a screenful") {
    t << "\x1b[999999999b";
    CHECK(t.scrolled.size() <= 3);
  }
}

TEST_CASE("C1 controls written as UTF-8 are dropped") {
  Term t(10, 3);
  t << "ab\xc2\x85\xc2\x9b\xc2";
  t << "\x90" "c";
  CHECK(text(t.t, 0) == "abc");
  CHECK(t.screen().cursor().x == 3);
  t << "\xc2\xa0";  // U+00A0 is no control
  CHECK(cell(t.t, 3, 0).ch == 0xa0);
}

TEST_CASE("DEC line drawing") {
  Term t(10, 3);
  t << "\x1b(0lqk\x1b(Bq";
  CHECK(cell(t.t, 0, 0).ch == 0x250c);
  CHECK(cell(t.t, 1, 0).ch == 0x2500);
  CHECK(cell(t.t, 2, 0).ch == 0x2510);
  CHECK(cell(t.t, 3, 0).ch == 'q');
  SUBCASE("after non-ASCII text, whatever the write boundaries") {
    for (size_t cut = 0; cut < 8; ++cut) {
      Term u(10, 3);
      const std::string in = "\x1b(0\xc3\xa9qx\x0eq\x0fq";
      u << in.substr(0, cut) << in.substr(cut);
      CAPTURE(cut);
      CHECK(cell(u.t, 1, 0).ch == 0x2500);
      CHECK(cell(u.t, 2, 0).ch == 0x2502);
      CHECK(cell(u.t, 3, 0).ch == 'q');  // SO: G1, still ASCII
      CHECK(cell(u.t, 4, 0).ch == 0x2500);
    }
  }
}

TEST_CASE("cursor visibility and shape") {
  Term t(10, 2);
  t << "\x1b[?25l";
  CHECK_FALSE(t.screen().cursor().visible);
  t << "\x1b[?25h\x1b[6 q";
  CHECK(t.screen().cursor().visible);
  CHECK(t.screen().cursor().shape == CursorShape::bar);
  CHECK_FALSE(t.screen().cursor().blink);
  t << "\x1b[3 q";
  CHECK(t.screen().cursor().shape == CursorShape::underline);
  CHECK(t.screen().cursor().blink);
  t << "\x1b[2 q";
  CHECK(t.screen().cursor().shape == CursorShape::block);
}

TEST_CASE("scrollback receives rows in order") {
  Term t(80, 24);
  for (int i = 1; i <= 100; ++i) t << std::to_string(i) << "\r\n";
  // 100 lines and a final empty one on 24 rows: 77 scrolled off.
  REQUIRE(t.scrolled.size() == 77);
  for (int i = 0; i < 77; ++i) CHECK(t.scrolled[i] == std::to_string(i + 1));
  CHECK(text(t.t, 0) == "78");
  CHECK(text(t.t, 22) == "100");

  SUBCASE("without the last line feed: 76") {
    Term u(80, 24);
    for (int i = 1; i <= 100; ++i) u << (i > 1 ? "\r\n" : "") << std::to_string(i);
    REQUIRE(u.scrolled.size() == 76);
    CHECK(u.scrolled.front() == "1");
    CHECK(u.scrolled.back() == "76");
    CHECK(text(u.t, 23) == "100");
  }
}

TEST_CASE("row versions change exactly when rows change") {
  Term t(10, 5);
  for (int i = 0; i < 5; ++i) t << (i ? "\r\n" : "") << std::to_string(i);
  auto before = versions(t.t);

  t << "\x1b[4;3Hx";  // row 3
  auto after = versions(t.t);
  for (int y = 0; y < 5; ++y) {
    CAPTURE(y);
    CHECK((after[y] != before[y]) == (y == 3));
  }

  t << "\x1b[5;1H\n";  // scroll up one
  auto scrolled = versions(t.t);
  for (int y = 0; y < 4; ++y) CHECK(scrolled[y] == after[y + 1]);
  CHECK(scrolled[4] != after[0]);

  t << "\x1b[1;1H" "1";  // same character again
  CHECK(versions(t.t) == scrolled);
  t << "\x1b[5;1H\x1b[K";  // erase a blank row
  CHECK(versions(t.t) == scrolled);
  t << "\x1b[?25l\x1b]2;x\x07\x07";  // not row content
  CHECK(versions(t.t) == scrolled);
}

TEST_CASE("answers to the program") {
  Term t(10, 3);
  t << "\x1b[2;3H\x1b[6n";
  CHECK(t.replies == "\x1b[2;3R");
  t.replies.clear();
  t << "\x1b[c";
  CHECK(t.replies == "\x1b[?1;2c");
}

TEST_CASE("hostile input is contained") {
  Term t(10, 3);
  SUBCASE("more than 16 CSI arguments") {
    std::string many = "\x1b[";
    for (int i = 0; i < 40; ++i) many += "2;";
    t << many + "1mA";
    CHECK(text(t.t, 0) == "A");
    CHECK(cell(t.t, 0, 0).attrs == 0);
    std::string dec = "\x1b[?";
    for (int i = 0; i < 100; ++i) dec += "1;";
    t << dec + "1h\x1b[5nB";
    CHECK(text(t.t, 0) == "AB");
    CHECK(t.replies == "\x1b[0n");
  }
  SUBCASE("huge arguments") {
    t << "ab\x1b[99999999999999999999999@\x1b[1;99999999999999Xc\x1b[4294967297;2Hd";
    CHECK(text(t.t, 0) == "abcd");
  }
  SUBCASE("APC, PM and SOS strings are swallowed") {
    t << "a\x1b_Gf=100;AAAA\x1b\\b\x1b^pm\x07" "c\x1bXsos\x1b\\d";
    CHECK(text(t.t, 0) == "abcd");
  }
  SUBCASE("CAN cancels a sequence and an unfinished string") {
    t << "a\x1b[3\x18" "b\x1b]2;x\x18" "c";
    CHECK(text(t.t, 0) == "abc");
    CHECK(t.screen().title().empty());
  }
  SUBCASE("an escape inside a string ends it, and counts") {
    t << "\x1b]2;abc\x1b[1mX";
    CHECK(t.screen().title().empty());
    CHECK(text(t.t, 0) == "X");
    CHECK(cell(t.t, 0, 0).attrs == roam::attr_bold);
  }
  SUBCASE("a window size request changes nothing") {
    t << "\x1b[8;100;100t";
    CHECK(t.screen().cols() == 10);
    CHECK(t.screen().rows() == 3);
  }
  SUBCASE("a megabyte of combining marks") {
    std::string marks;
    for (int i = 0; i < (1 << 19); ++i) marks += "\xcc\x81";
    t << "e";
    for (size_t i = 0; i < marks.size(); i += 64 << 10) t << marks.substr(i, 64 << 10);
    REQUIRE(t.screen().row(0).marks.size() == 1);
    CHECK(t.screen().row(0).marks[0].second.size() == Screen::max_marks);
  }
}

TEST_CASE("any chunking gives the same screen") {
  std::string input;
  input += "\x1b]0;title\x07\x1b[1;31mred\x1b[0m plain \xe4\xb8\xad\xe6\x96\x87 e\xcc\x81\r\n";
  input += "\x1b[?1049h\x1b[2J\x1b[5;5Halt\x1b[?1049l\x1b[?2004h\x1b=\x1b[?1;1006;1002h";
  input += "\x1b]52;c;Zm9vYmFy\x1b\\\x1b[2;8mfaint\x1b[m\x1b[3;20r\x1b[20;1H";
  for (int i = 0; i < 30; ++i) input += "line " + std::to_string(i) + " \x1b[7m" + std::string(i % 13, '#') + "\x1b[27m\r\n";
  input += "\x1b[r\x1b[1;1H\x1b[4@\x1b[2P\x1b[3L\x1b[2M\x1b[5X\x07\x1b_apc\x1b\\\x1b[6 q\x1b[?25l";

  Term whole(20, 10);
  whole << input;
  for (size_t step : {1, 2, 3, 7, 64}) {
    CAPTURE(step);
    Term parts(20, 10);
    for (size_t i = 0; i < input.size(); i += step) parts << input.substr(i, step);
    CHECK(parts.screen() == whole.screen());
    CHECK(parts.scrolled == whole.scrolled);
  }
  CHECK(whole.screen().title() == "title");
  CHECK(whole.screen().clipboard().base64 == "Zm9vYmFy");
  CHECK(whole.screen().modes().bracketed_paste);
  CHECK(whole.screen().bell_count() == 1);
}
