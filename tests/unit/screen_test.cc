#include "protocol/screen.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using roam::Cell;
using roam::Color;
using roam::Pen;
using roam::Rect;
using roam::Row;
using roam::Screen;

namespace {

// Writes ASCII text from (x, y) with the default pen.
void type(Screen& s, int x, int y, std::string_view text, const Pen& pen = {}) {
  for (char ch : text) {
    const uint32_t chars[] = {static_cast<unsigned char>(ch), 0};
    s.put(x++, y, chars, 1, pen);
  }
}

// Row y as text: never-written cells as spaces, wide tails skipped.
std::string text(const Screen& s, int y) {
  std::string out;
  for (const Cell& c : s.row(y).cells) {
    if (c.ch == Cell::wide_tail) continue;
    out += c.ch == 0 ? ' ' : c.ch < 0x80 ? static_cast<char>(c.ch) : '?';
  }
  return out;
}

std::vector<uint64_t> versions(const Screen& s) {
  std::vector<uint64_t> v;
  for (int y = 0; y < s.rows(); ++y) v.push_back(s.version(y));
  return v;
}

// A screen of `rows` rows reading "0", "1", "2"... at column 0.
Screen numbered(int cols, int rows) {
  Screen s(cols, rows);
  for (int y = 0; y < rows; ++y) type(s, 0, y, std::to_string(y));
  return s;
}

}  // namespace

TEST_CASE("a new screen is blank with unique versions") {
  Screen s(10, 3);
  CHECK(s.cols() == 10);
  CHECK(s.rows() == 3);
  for (int y = 0; y < 3; ++y) {
    CHECK(text(s, y) == "          ");
    CHECK_FALSE(s.row(y).wrapped);
  }
  CHECK(s.version(0) != s.version(1));
  CHECK(s.version(1) != s.version(2));
  CHECK(s.cursor() == roam::Cursor{});
}

TEST_CASE("sizes are clamped") {
  Screen s(0, 100000);
  CHECK(s.cols() == 1);
  CHECK(s.rows() == Screen::max_rows);
}

TEST_CASE("put writes a cell with its pen and bumps only that row") {
  Screen s(10, 3);
  auto before = versions(s);
  Pen pen{Color::index(3), Color::from_rgb(1, 2, 3), roam::attr_bold};
  type(s, 2, 1, "hi", pen);
  CHECK(text(s, 1) == "  hi      ");
  const Cell& c = s.row(1).cells[2];
  CHECK(c.ch == 'h');
  CHECK(c.pen() == pen);
  auto after = versions(s);
  CHECK(after[0] == before[0]);
  CHECK(after[1] != before[1]);
  CHECK(after[2] == before[2]);

  SUBCASE("rewriting the same content keeps the version") {
    type(s, 2, 1, "hi", pen);
    CHECK(s.version(1) == after[1]);
  }
  SUBCASE("another pen is a change") {
    type(s, 2, 1, "hi");
    CHECK(s.version(1) != after[1]);
  }
}

TEST_CASE("wide characters and their halves") {
  Screen s(6, 1);
  const uint32_t wide[] = {0x4e2d, 0};
  s.put(1, 0, wide, 2, {});
  CHECK(s.row(0).cells[1].ch == 0x4e2d);
  CHECK(s.row(0).cells[1].width == 2);
  CHECK(s.row(0).cells[2].ch == Cell::wide_tail);

  SUBCASE("overwriting the tail blanks the head") {
    type(s, 2, 0, "x");
    CHECK(s.row(0).cells[1].ch == 0);
    CHECK(s.row(0).cells[1].width == 1);
    CHECK(s.row(0).cells[2].ch == 'x');
  }
  SUBCASE("overwriting the head blanks the tail") {
    type(s, 1, 0, "x");
    CHECK(s.row(0).cells[1].ch == 'x');
    CHECK(s.row(0).cells[2].ch == 0);
  }
  SUBCASE("a wide character over the tail of another") {
    s.put(2, 0, wide, 2, {});
    CHECK(s.row(0).cells[1].ch == 0);
    CHECK(s.row(0).cells[2].ch == 0x4e2d);
    CHECK(s.row(0).cells[3].ch == Cell::wide_tail);
  }
  SUBCASE("erasing half erases the whole") {
    s.erase({0, 2, 1, 3}, Color::none());
    CHECK(s.row(0).cells[1].ch == 0);
    CHECK(s.row(0).cells[2].ch == 0);
  }
  SUBCASE("no room in the last column: stored narrow") {
    s.put(5, 0, wide, 2, {});
    CHECK(s.row(0).cells[5].width == 1);
  }
}

TEST_CASE("combining marks sit beside the cells") {
  Screen s(4, 1);
  const uint32_t e_acute[] = {'e', 0x301, 0};
  s.put(1, 0, e_acute, 1, {});
  REQUIRE(s.row(0).marks.size() == 1);
  CHECK(s.row(0).marks[0].first == 1);
  CHECK(s.row(0).marks[0].second == U"\u0301");
  const auto v = s.version(0);
  s.put(1, 0, e_acute, 1, {});
  CHECK(s.version(0) == v);
  type(s, 1, 0, "e");
  CHECK(s.row(0).marks.empty());
  CHECK(s.version(0) != v);

  SUBCASE("marks are bounded") {
    std::vector<uint32_t> many(100, 0x301);
    many.insert(many.begin(), 'a');
    many.push_back(0);
    s.put(0, 0, many.data(), 1, {});
    CHECK(s.row(0).marks[0].second.size() == Screen::max_marks);
  }
}

TEST_CASE("erase uses the background and skips rows already blank") {
  Screen s(5, 3);
  type(s, 0, 0, "abcde");
  auto before = versions(s);
  s.erase({0, 1, 3, 3}, Color::index(4));
  CHECK(text(s, 0) == "a  de");
  CHECK(s.row(0).cells[1].bg == Color::index(4));
  CHECK(s.row(0).cells[1].fg == Color::none());
  auto after = versions(s);
  CHECK(after[0] != before[0]);
  CHECK(after[1] != before[1]);  // blank, but now coloured

  s.erase({0, 0, 3, 5}, Color::none());
  auto cleared = versions(s);
  s.erase({0, 0, 3, 5}, Color::none());
  CHECK(versions(s) == cleared);
}

TEST_CASE("erasing to the end of a row ends its soft wrap") {
  Screen s(5, 2);
  s.set_wrapped(0, true);
  s.erase({0, 0, 1, 3}, Color::none());
  CHECK(s.row(0).wrapped);
  s.erase({0, 3, 1, 5}, Color::none());
  CHECK_FALSE(s.row(0).wrapped);
}

TEST_CASE("scrolling the whole screen turns the ring; moved rows keep versions") {
  Screen s = numbered(4, 5);
  auto before = versions(s);
  s.scroll({0, 0, 5, 4}, -2, 0, Color::none());
  CHECK(text(s, 0) == "2   ");
  CHECK(text(s, 2) == "4   ");
  CHECK(text(s, 3) == "    ");
  CHECK(text(s, 4) == "    ");
  CHECK(s.version(0) == before[2]);
  CHECK(s.version(2) == before[4]);
  CHECK(s.version(3) != before[0]);
  CHECK(s.version(3) != before[1]);
  CHECK(s.version(3) != s.version(4));

  s.scroll({0, 0, 5, 4}, 1, 0, Color::index(1));
  CHECK(text(s, 0) == "    ");
  CHECK(s.row(0).cells[0].bg == Color::index(1));
  CHECK(text(s, 1) == "2   ");
  CHECK(s.version(1) == before[2]);

  SUBCASE("many times round the ring") {
    for (int i = 0; i < 12; ++i) {
      s.scroll({0, 0, 5, 4}, -1, 0, Color::none());
      type(s, 0, 4, std::to_string(i));
    }
    CHECK(text(s, 0) == "7   ");
    CHECK(text(s, 4) == "11  ");
  }
}

TEST_CASE("scrolling a band of rows") {
  Screen s = numbered(4, 6);
  auto before = versions(s);
  s.scroll({1, 0, 4, 4}, -1, 0, Color::none());
  CHECK(text(s, 0) == "0   ");
  CHECK(text(s, 1) == "2   ");
  CHECK(text(s, 2) == "3   ");
  CHECK(text(s, 3) == "    ");
  CHECK(text(s, 4) == "4   ");
  CHECK(s.version(1) == before[2]);
  CHECK(s.version(4) == before[4]);

  s.scroll({1, 0, 4, 4}, 2, 0, Color::none());
  CHECK(text(s, 1) == "    ");
  CHECK(text(s, 2) == "    ");
  CHECK(text(s, 3) == "2   ");
  CHECK(s.version(3) == before[2]);

  s.scroll({0, 0, 6, 4}, -100, 0, Color::none());
  for (int y = 0; y < 6; ++y) CHECK(text(s, y) == "    ");
}

TEST_CASE("scrolling sideways and part-width rectangles") {
  Screen s(6, 3);
  type(s, 0, 0, "abcdef");
  type(s, 0, 1, "ghijkl");
  type(s, 0, 2, "mnopqr");
  s.scroll({0, 2, 1, 6}, 0, 1, Color::none());  // insert a blank at column 2
  CHECK(text(s, 0) == "ab cde");
  s.scroll({1, 1, 2, 6}, 0, -2, Color::none());  // delete two at column 1
  CHECK(text(s, 1) == "gjkl  ");
  s.scroll({0, 1, 3, 3}, -1, 0, Color::none());  // columns 1-2 up one row
  CHECK(text(s, 0) == "ajkcde");
  CHECK(text(s, 1) == "gnol  ");
  CHECK(text(s, 2) == "m  pqr");
}

TEST_CASE("sideways scrolls carry combining marks") {
  Screen s(5, 1);
  const uint32_t e_acute[] = {'e', 0x301, 0};
  s.put(2, 0, e_acute, 1, {});
  s.scroll({0, 0, 1, 5}, 0, 1, Color::none());
  REQUIRE(s.row(0).marks.size() == 1);
  CHECK(s.row(0).marks[0].first == 3);
  s.scroll({0, 0, 1, 5}, 0, -3, Color::none());
  REQUIRE(s.row(0).marks.size() == 1);
  CHECK(s.row(0).marks[0].first == 0);
  s.scroll({0, 0, 1, 5}, 0, -1, Color::none());
  CHECK(s.row(0).marks.empty());
}

TEST_CASE("move copies a rectangle") {
  Screen s = numbered(3, 4);
  s.move({2, 1, 4, 2}, {0, 0, 2, 1});
  CHECK(text(s, 2) == "20 ");
  CHECK(text(s, 3) == "31 ");
  s.move({0, 0, 1, 3}, {5, 5, 6, 8});  // nothing there to copy
  CHECK(text(s, 0) == "0  ");
}

TEST_CASE("resize keeps content top-left and sends rows off the top") {
  Screen s = numbered(5, 6);
  auto c = s.cursor();
  c.y = 5;
  c.x = 4;
  s.set_cursor(c);
  std::vector<std::string> gone;
  auto sink = [&](const Row& r) { gone.push_back(std::string(1, static_cast<char>(r.cells[0].ch))); };

  SUBCASE("losing rows with the cursor at the bottom") {
    CHECK(s.resize(3, 4, sink) == 2);
    CHECK(gone == std::vector<std::string>{"0", "1"});
    CHECK(text(s, 0) == "2  ");
    CHECK(text(s, 3) == "5  ");
    CHECK(s.cursor().y == 3);
    CHECK(s.cursor().x == 2);
  }
  SUBCASE("blank rows below the cursor go first") {
    c.y = 1;
    s.set_cursor(c);
    s.erase({3, 0, 6, 5}, Color::none());
    CHECK(s.resize(5, 3, sink) == 0);
    CHECK(gone.empty());
    CHECK(text(s, 0) == "0    ");
    CHECK(text(s, 2) == "2    ");
    CHECK(s.cursor().y == 1);
  }
  SUBCASE("growing adds blank rows and columns") {
    CHECK(s.resize(7, 8, sink) == 0);
    CHECK(text(s, 5) == "5      ");
    CHECK(text(s, 7) == "       ");
  }
  SUBCASE("every row gets a new version") {
    auto before = versions(s);
    s.resize(6, 6);
    auto after = versions(s);
    for (int y = 0; y < 6; ++y) CHECK(after[y] != before[y]);
  }
  SUBCASE("a wide character that no longer fits moves whole to the next row") {
    const uint32_t wide[] = {0x4e2d, 0};
    s.put(2, 0, wide, 2, {});
    s.resize(3, 7);
    CHECK(s.row(0).cells[2].ch == 0);
    CHECK(s.row(0).wrapped);
    CHECK(s.row(1).cells[0].ch == 0x4e2d);
  }
}

TEST_CASE("a width change re-wraps lines; rows pushed off the top go first, in order, with their flags") {
  Screen s(10, 4);
  type(s, 0, 0, "abcdefghij");
  s.set_wrapped(0, true);
  type(s, 0, 1, "klm");
  type(s, 0, 2, "$ ");
  auto c = s.cursor();
  c.x = 2;
  c.y = 2;
  s.set_cursor(c);

  // 13 characters are 4 rows of 4, "$ " one more, and the cursor stays on it.
  std::vector<std::pair<std::string, bool>> scrolled;
  REQUIRE(s.resize(4, 4, [&](const Row& r) {
    std::string t;
    for (const Cell& cell : r.cells) t += cell.ch ? static_cast<char>(cell.ch) : ' ';
    scrolled.emplace_back(t, r.wrapped);
  }) == 1);
  CHECK(scrolled == std::vector<std::pair<std::string, bool>>{{"abcd", true}});
  CHECK(text(s, 0) == "efgh");
  CHECK(s.row(0).wrapped);
  CHECK(text(s, 1) == "ijkl");
  CHECK(s.row(1).wrapped);
  CHECK(text(s, 2) == "m   ");
  CHECK_FALSE(s.row(2).wrapped);
  CHECK(text(s, 3) == "$   ");
  CHECK(s.cursor().x == 2);
  CHECK(s.cursor().y == 3);

  // Wide again: what is left joins; history is not taken back.
  CHECK(s.resize(10, 4) == 0);
  CHECK(text(s, 0) == "efghijklm ");
  CHECK_FALSE(s.row(0).wrapped);
  CHECK(text(s, 1) == "$         ");
  CHECK(text(s, 2) == "          ");
  CHECK(s.cursor().x == 2);
  CHECK(s.cursor().y == 1);
}

TEST_CASE("a resize carries the cursor's pending wrap and other places on the primary grid") {
  Screen s(8, 3);
  type(s, 0, 0, "abcdefgh");
  auto c = s.cursor();
  c.x = 7;  // on 'h', the wrap to come
  s.set_cursor(c);
  std::vector<roam::GridPos> saved{{2, 0}};
  Screen::Carried carried{true, saved};
  s.resize(4, 3, {}, &carried);
  CHECK(carried.cursor_pending_wrap);
  CHECK(s.cursor().x == 3);
  CHECK(s.cursor().y == 1);
  CHECK(saved[0] == roam::GridPos{2, 0});

  s.resize(12, 3, {}, &carried);
  CHECK_FALSE(carried.cursor_pending_wrap);
  CHECK(s.cursor().x == 8);
  CHECK(s.cursor().y == 0);
  CHECK(text(s, 0) == "abcdefgh    ");

  SUBCASE("a height change alone keeps the pending wrap") {
    carried.cursor_pending_wrap = true;
    s.resize(12, 2, {}, &carried);
    CHECK(carried.cursor_pending_wrap);
  }
}

TEST_CASE("the alternate grid and the primary one") {
  Screen s = numbered(4, 3);
  auto m = s.modes();
  m.alternate_screen = true;
  s.set_modes(m);
  CHECK(s.modes().alternate_screen);
  CHECK(text(s, 0) == "    ");
  type(s, 0, 0, "alt");

  SUBCASE("leaving brings the primary grid back") {
    m.alternate_screen = false;
    s.set_modes(m);
    CHECK(text(s, 0) == "0   ");
    CHECK(text(s, 2) == "2   ");
  }
  SUBCASE("a resize while hidden sends primary rows to scrollback, not alternate ones") {
    std::vector<char> gone;
    s.resize(4, 1, [&](const Row& r) { gone.push_back(static_cast<char>(r.cells[0].ch)); });
    CHECK(gone == std::vector<char>{'0', '1'});
    m.alternate_screen = false;
    s.set_modes(m);
    CHECK(text(s, 0) == "2   ");
  }
}

TEST_CASE("a width change cuts the alternate grid and re-wraps the primary one behind it") {
  Screen s(6, 3);
  type(s, 0, 0, "012345");
  s.set_wrapped(0, true);
  type(s, 0, 1, "67");
  type(s, 0, 2, "$");
  auto m = s.modes();
  m.alternate_screen = true;
  s.set_modes(m);
  type(s, 0, 0, "abcdef");
  s.set_wrapped(0, true);
  type(s, 0, 1, "gh");
  std::vector<roam::GridPos> saved{{1, 2}};  // after "$"
  Screen::Carried carried{false, saved};
  std::vector<std::string> gone;
  s.resize(3, 3, [&](const Row& r) {
    std::string t;
    for (const Cell& cell : r.cells) t += static_cast<char>(cell.ch);
    gone.push_back(t + (r.wrapped ? "+" : ""));
  }, &carried);
  CHECK(text(s, 0) == "abc");
  CHECK(s.row(0).wrapped);  // as it was: the alternate grid is only cut
  CHECK(text(s, 1) == "gh ");
  CHECK(gone == std::vector<std::string>{"012+"});
  CHECK(saved[0] == roam::GridPos{1, 2});
  m.alternate_screen = false;
  s.set_modes(m);
  CHECK(text(s, 0) == "345");
  CHECK(text(s, 1) == "67 ");
  CHECK(text(s, 2) == "$  ");
}

TEST_CASE("title, clipboard and bell") {
  Screen s(4, 2);
  s.set_title("a\x1b]b\x07" "c\xc2\x9b" "d\xc2\xa0");
  CHECK(s.title() == "a]bcd\xc2\xa0");
  s.set_title(std::string(10000, 'x'));
  CHECK(s.title().size() == Screen::max_title);
  // A cut never leaves half a UTF-8 character.
  std::string euros;
  for (int i = 0; i < 2000; ++i) euros += "\xe2\x82\xac";
  s.set_title(euros);
  CHECK(s.title().size() == Screen::max_title / 3 * 3);

  CHECK(s.set_clipboard("c", "aGVsbG8="));
  CHECK(s.clipboard().selection == "c");
  CHECK(s.clipboard().base64 == "aGVsbG8=");
  CHECK(s.clipboard().serial == 1);
  CHECK_FALSE(s.set_clipboard("c", "not base64!"));
  CHECK_FALSE(s.set_clipboard("z", "aGVsbG8="));
  CHECK_FALSE(s.set_clipboard("c", std::string(Screen::max_clipboard + 4, 'A')));
  CHECK(s.set_clipboard("", "aGVsbG8="));
  CHECK(s.clipboard().selection == "s0");
  CHECK(s.clipboard().serial == 2);

  s.ring_bell();
  s.ring_bell();
  CHECK(s.bell_count() == 2);
}

TEST_CASE("equality compares what shows, not versions") {
  Screen a = numbered(5, 4);
  Screen b(5, 4);
  for (int y = 3; y >= 0; --y) type(b, 0, y, std::to_string(y));
  CHECK(a == b);
  CHECK(a.version(0) != b.version(0));

  SUBCASE("content") {
    type(b, 4, 3, "x");
    CHECK_FALSE(a == b);
  }
  SUBCASE("wrapped flag") {
    b.set_wrapped(1, true);
    CHECK_FALSE(a == b);
  }
  SUBCASE("cursor") {
    auto c = b.cursor();
    c.visible = false;
    b.set_cursor(c);
    CHECK_FALSE(a == b);
  }
  SUBCASE("modes") {
    auto m = b.modes();
    m.bracketed_paste = true;
    b.set_modes(m);
    CHECK_FALSE(a == b);
  }
  SUBCASE("title") {
    b.set_title("t");
    CHECK_FALSE(a == b);
  }
  SUBCASE("bell") {
    b.ring_bell();
    CHECK_FALSE(a == b);
  }
  SUBCASE("a ring turned differently shows the same") {
    a.scroll({0, 0, 4, 5}, -1, 0, Color::none());
    type(a, 0, 3, "4");
    b.scroll({0, 0, 4, 5}, -2, 0, Color::none());
    b.scroll({0, 0, 4, 5}, 1, 0, Color::none());
    type(b, 0, 0, "1");
    type(b, 0, 3, "4");
    CHECK(a == b);
  }
  SUBCASE("copies are equal and independent") {
    Screen c = a;
    CHECK(c == a);
    CHECK(c.version(2) == a.version(2));
    type(c, 0, 0, "z");
    CHECK_FALSE(c == a);
    c = a;
    CHECK(c == a);
  }
}

TEST_CASE("set_row replaces a row, fitted to the width") {
  Screen s(3, 2);
  Row r;
  r.cells.resize(5);
  r.cells[0].ch = 'a';
  r.cells[2].ch = 0x4e2d;
  r.cells[2].width = 2;
  r.cells[3].ch = Cell::wide_tail;
  r.marks.push_back({0, U"\u0301"});
  r.marks.push_back({4, U"\u0301"});
  r.wrapped = true;
  const auto v = s.version(1);
  s.set_row(1, r);
  CHECK(s.version(1) != v);
  CHECK(s.row(1).cells.size() == 3);
  CHECK(s.row(1).cells[0].ch == 'a');
  CHECK(s.row(1).cells[2].ch == 0);  // half a wide character does not fit
  CHECK(s.row(1).marks.size() == 1);
  CHECK(s.row(1).wrapped);
}

// Attack: a screen with static storage (a fuzzer's fixture, a global) is
// destroyed at exit after the thread's row pool; its rows must be freed, not
// handed to the gone pool (a use after free under ASan).
TEST_CASE("a static screen destroyed after the row pool frees its rows") {
  static Screen survivor(20, 4);
  type(survivor, 0, 0, "outlives the pool");
  Screen copy = survivor;
  type(copy, 0, 1, "written");  // copy on write: the copy's rows go to the pool
  CHECK(&copy.row(0) == &survivor.row(0));
  CHECK(&copy.row(1) != &survivor.row(1));
}

TEST_CASE("held_bytes counts a row shared by copies once across them") {
  Screen a(100, 10);
  const size_t alone = a.held_bytes();
  CHECK(alone >= 100 * 10 * sizeof(roam::Cell));
  Screen b = a;
  CHECK(a.held_bytes() + b.held_bytes() <= alone + 16);  // each row half in each
  const uint32_t x[] = {'x', 0};
  b.put(0, 0, x, 1, Pen{});  // b's row 0 is its own now
  CHECK(a.held_bytes() + b.held_bytes() > alone);
  CHECK(a.held_bytes() + b.held_bytes() < 2 * alone);
}
