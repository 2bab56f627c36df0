#include "mux/history.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <random>

namespace roam::mux {
namespace {

constexpr size_t cols = 80;

// A row `width` cells wide holding `s` (ASCII) from column 0 in `pen`.
Row text_row(std::string_view s, size_t width = cols, Pen pen = {}) {
  Row row;
  row.cells.resize(std::max(width, s.size()));
  for (size_t i = 0; i < s.size(); ++i) {
    row.cells[i].ch = static_cast<unsigned char>(s[i]);
    row.cells[i].set_pen(pen);
  }
  return row;
}

void put_wide(Row& row, size_t col, uint32_t ch) {
  row.cells[col].ch = ch;
  row.cells[col].width = 2;
  row.cells[col + 1].ch = Cell::wide_tail;
}

// Appends `rows` and checks that reading them back gives them unchanged.
void check_round_trip(const std::vector<Row>& rows) {
  History h;
  for (const Row& r : rows) h.append(r);
  auto back = h.read(0, rows.size());
  REQUIRE(back);
  REQUIRE(back->size() == rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    CHECK((*back)[i] == rows[i]);
  }
}

std::vector<uint64_t> find(const History& h, std::string_view needle, SearchOptions o = {},
                           std::span<const Row> screen = {}) {
  return h.search(needle, o, screen);
}

using Lines = std::vector<uint64_t>;

TEST_CASE("plain rows round trip, trailing blank cells included") {
  check_round_trip({text_row("hello, world"), text_row(""), text_row("x", 1),
                    text_row(std::string(cols, 'z')), text_row("  indented  with spaces   ")});
}

TEST_CASE("empty and blank rows round trip") {
  Row empty;
  Row blanks = text_row("", cols);
  Row inner = text_row("a   b");
  inner.cells[1].ch = 0;  // a never-written cell between written ones
  inner.cells[2].ch = 0;
  check_round_trip({empty, blanks, inner, empty});
}

TEST_CASE("pens round trip: indexed, 256, truecolor, attributes, underline colours and styles, coloured blanks") {
  Row row = text_row("red green blue and plain");
  for (size_t i = 0; i < 3; ++i) row.cells[i].fg = Color::index(1);
  for (size_t i = 4; i < 9; ++i) row.cells[i].fg = Color::index(202);
  for (size_t i = 10; i < 14; ++i)
    row.cells[i].set_pen(
        {Color::from_rgb(1, 2, 250), Color::from_rgb(255, 255, 0), attr_bold | attr_italic});
  row.cells[15].attrs = attr_strike | 2 << attr_underline_shift;
  row.cells[16].set_pen({Color::index256(3), Color::index256(12), attr_protected | underline_dashed << attr_underline_shift,
                         Color::from_rgb(9, 8, 7)});
  row.cells[17].ul = Color::index(196);  // an underline colour alone
  Row bar = text_row("", cols, {});
  for (size_t i = 50; i < cols; ++i) bar.cells[i].bg = Color::index(4);  // a coloured blank tail
  Row reverse = text_row("status", cols, {Color::none(), Color::none(), attr_reverse});
  Row odd;  // packed values outside the documented kinds still come back
  odd.cells.resize(3);
  odd.cells[1].fg.packed = 0x07123456;
  check_round_trip({row, bar, reverse, odd});
}

TEST_CASE("a pen or a mark on one cell of plain text round trips") {
  Row last_bg = text_row(std::string(cols, 'p'));
  last_bg.cells[cols - 1].bg = Color::index(3);
  Row faint = text_row("plain then faint");
  faint.cells[11].attrs = attr_faint;
  Row marked = text_row("plain e");
  marked.marks.emplace_back(6, U"\u0301");
  check_round_trip({last_bg, faint, marked});
}

TEST_CASE("wide characters round trip") {
  Row row = text_row("ab");
  put_wide(row, 2, U'世');
  put_wide(row, 4, U'界');
  row.cells[6].ch = 'c';
  put_wide(row, cols - 2, U'😀');  // in the last two columns
  row.cells[4].fg = Color::index(3);
  row.cells[5].fg = Color::index(4);  // the tail's pen differs from its head's

  Row odd = text_row("xyz");
  odd.cells[0].ch = Cell::wide_tail;  // a right half whose left half was overwritten
  odd.cells[1].width = 2;             // a wide character without its tail
  put_wide(odd, 3, U'字');
  odd.cells[4].width = 0;  // a tail with an unusual width
  odd.cells[6].ch = 0;
  odd.cells[6].width = 2;
  check_round_trip({row, odd});
}

TEST_CASE("combining marks round trip") {
  Row row = text_row("cafe noel");
  row.marks = {{3, U"\u0301"}, {6, U"\u0308\u0323"}};
  Row wide = text_row("");
  put_wide(wide, 0, U'한');
  wide.marks = {{0, U"\u302e"}, {1, U"\u0301"}, {5, U"\u0301"}};  // on a head, a tail, a blank
  Row twice = text_row("e");
  twice.marks = {{0, U"\u0301"}, {0, U"\u0302"}};
  check_round_trip({row, wide, twice});
}

TEST_CASE("marks out of order, past the row or not characters") {
  Row row = text_row("ab");
  row.marks = {{1, U"\u0301"}, {0, U"\u0300"}, {200, U"\u0301"}, {0, U"\x01\U0010ffff"}};
  History h;
  h.append(row);
  auto back = h.read(0, 1);
  REQUIRE(back);
  Row want = text_row("ab");
  want.marks = {{0, U"\u0300"}, {0, U"\ufffd\U0010ffff"}, {1, U"\u0301"}};
  CHECK(back->at(0) == want);
}

TEST_CASE("cells without a printable character round trip") {
  Row row = text_row("a b c d");
  row.cells[1].ch = 0x07;
  row.cells[2].ch = 0xd800;
  row.cells[3].ch = 0x110000;
  row.cells[4].ch = 0x9b;
  row.cells[5].ch = '\n';
  check_round_trip({row});
  CHECK(row_text(row) == "ad");
}

TEST_CASE("wrapped flag round trips") {
  Row a = text_row(std::string(cols, 'w'));
  a.wrapped = true;
  Row b = text_row("rest");
  check_round_trip({a, b, a, a, b});
}

TEST_CASE("row_text is what search sees") {
  Row row = text_row("a  b");
  row.cells[1].ch = 0;
  put_wide(row, 5, U'世');
  row.marks = {{0, U"\u0301"}};
  CHECK(row_text(row) == "a\u0301  b \u4e16");
  CHECK(row_text(text_row("")) == "");
  CHECK(row_text(text_row("trailing   ")) == "trailing   ");
}

std::vector<Row> numbered(size_t n, uint64_t first = 0) {
  std::vector<Row> rows;
  for (uint64_t i = first; i < first + n; ++i) {
    Row r = text_row(
        fmt::format("line {} {}", i, std::string(i % 37, static_cast<char>('a' + i % 26))));
    if (i % 5 == 0) r.cells[0].fg = Color::index(static_cast<uint8_t>(i));
    r.wrapped = i % 7 == 0;
    rows.push_back(std::move(r));
  }
  return rows;
}

TEST_CASE("ranges across block boundaries") {
  const auto rows = numbered(30'000);
  History h;
  for (const Row& r : rows) h.append(r);
  CHECK(h.begin() == 0);
  CHECK(h.end() == rows.size());

  auto all = h.read(0, rows.size());
  REQUIRE(all);
  CHECK(*all == rows);

  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    const uint64_t first = rng() % rows.size();
    const uint64_t count = rng() % 3000;
    auto got = h.read(first, count);
    REQUIRE(got);
    const uint64_t n = std::min<uint64_t>(count, rows.size() - first);
    REQUIRE(got->size() == n);
    CHECK(std::equal(got->begin(), got->end(), rows.begin() + static_cast<ptrdiff_t>(first)));
  }
  for (uint64_t line = 0; line < rows.size(); line += 97) {  // one line at a time
    auto got = h.read(line, 1);
    REQUIRE(got);
    REQUIRE(got->size() == 1);
    CHECK(got->front() == rows[line]);
  }
  auto last = h.read(h.end() - 1, 1);
  REQUIRE(last);
  CHECK(last->at(0) == rows.back());
}

TEST_CASE("reads, searches and appends interleave") {
  const auto rows = numbered(12'000);
  History h;
  size_t appended = 0;
  std::mt19937 rng(11);
  while (appended < rows.size()) {
    for (size_t n = rng() % 2000; n > 0 && appended < rows.size(); --n) h.append(rows[appended++]);
    CHECK(
        find(h, "line 1", {.backward = true, .from = rng() % appended, .max_results = 3}).size() <=
        3);
    const uint64_t first = rng() % appended;
    auto got = h.read(first, 1500);
    REQUIRE(got);
    REQUIRE(got->size() == std::min<size_t>(1500, appended - first));
    CHECK(std::equal(got->begin(), got->end(), rows.begin() + static_cast<ptrdiff_t>(first)));
  }
}

TEST_CASE("rows wider than 65536 cells are cut") {
  Row wide = text_row("start", 70'000);
  wide.cells[65'535].ch = 'y';
  wide.cells[65'536].ch = 'n';
  History h;
  h.append(wide);
  auto got = h.read(0, 1);
  REQUIRE(got);
  wide.cells.resize(65'536);
  CHECK(got->at(0) == wide);
}

TEST_CASE("reads outside [begin, end) are clipped") {
  History h({.max_lines = 100, .max_bytes = 1 << 20});
  const auto rows = numbered(1000);
  for (const Row& r : rows) h.append(r);
  REQUIRE(h.begin() > 0);
  auto before = h.read(0, h.begin());
  REQUIRE(before);
  CHECK(before->empty());
  auto straddle = h.read(h.begin() - 5, 10);
  REQUIRE(straddle);
  REQUIRE(straddle->size() == 5);
  CHECK(straddle->front() == rows[h.begin()]);
  auto past = h.read(h.end(), 10);
  REQUIRE(past);
  CHECK(past->empty());
  auto everything = h.read(0, std::numeric_limits<uint64_t>::max());
  REQUIRE(everything);
  CHECK(everything->size() == h.end() - h.begin());
  CHECK(everything->back() == rows.back());
  auto huge = h.read(h.end() - 1, std::numeric_limits<uint64_t>::max());
  REQUIRE(huge);
  CHECK(huge->size() == 1);

  History empty;
  auto none = empty.read(0, 10);
  REQUIRE(none);
  CHECK(none->empty());
  CHECK(empty.begin() == 0);
  CHECK(empty.end() == 0);
}

TEST_CASE("the line limit keeps exactly max_lines, the oldest dropped first") {
  for (const uint64_t max_lines : {1ull, 3ull, 1000ull, 4097ull, 20'000ull}) {
    CAPTURE(max_lines);
    History h({.max_lines = max_lines, .max_bytes = 1 << 30});
    const auto rows = numbered(30'000);
    // Exactly the limit once there is more than it, after every append.
    size_t wrong = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      h.append(rows[i]);
      wrong += h.end() - h.begin() != std::min<uint64_t>(i + 1, max_lines);
    }
    CHECK(wrong == 0);
    CHECK(h.end() == 30'000);
    CHECK(h.begin() == 30'000 - max_lines);
    auto got = h.read(0, 40'000);
    REQUIRE(got);
    REQUIRE(got->size() == max_lines);
    CHECK(std::equal(got->begin(), got->end(), rows.end() - static_cast<ptrdiff_t>(max_lines)));
  }
}

TEST_CASE("1,500,000 lines into the default limit keep exactly 1,000,000") {
  History h;
  Row row = text_row("", 16);
  for (uint64_t i = 1; i <= 1'500'000; ++i) {
    const std::string s = std::to_string(i);
    for (size_t c = 0; c < row.cells.size(); ++c) row.cells[c].ch = c < s.size() ? static_cast<unsigned char>(s[c]) : 0;
    h.append(row);
  }
  CHECK(h.end() - h.begin() == 1'000'000);
  CHECK(h.begin() == 500'000);
  auto first = h.read(h.begin(), 1);
  REQUIRE(first);
  REQUIRE(first->size() == 1);
  CHECK(row_text(first->front()) == "500001");
}

TEST_CASE("the oldest kept lines, inside a partly dropped block, read and search like any other") {
  History h({.max_lines = 1000, .max_bytes = 1 << 30});
  const auto rows = numbered(10'123);
  for (const Row& r : rows) h.append(r);
  REQUIRE(h.begin() == 9'123);
  // Reads straddling begin() start at it.
  auto straddle = h.read(9'120, 6);
  REQUIRE(straddle);
  REQUIRE(straddle->size() == 3);
  CHECK(straddle->front() == rows[9'123]);
  // Searches never report a dropped line, whichever the direction.
  CHECK(find(h, "line 9122 ").empty());
  CHECK(find(h, "line 9123 ") == Lines{9'123});
  CHECK(find(h, "line 9123 ", {.backward = true, .from = UINT64_MAX}) == Lines{9'123});
  CHECK(find(h, "line 912", {.backward = true, .from = UINT64_MAX}).back() == 9'123);
  CHECK(find(h, "line 912").front() == 9'123);
  CHECK(find(h, "line ", {.from = 0}).size() == 1000);
  CHECK(find(h, "line ", {.backward = true, .from = UINT64_MAX}).size() == 1000);
}

TEST_CASE("the byte limit drops the oldest blocks") {
  const uint64_t max_bytes = 64 << 10;
  History h({.max_lines = 1'000'000, .max_bytes = max_bytes});
  std::mt19937_64 rng(1);
  std::vector<Row> rows;
  for (int i = 0; i < 5000; ++i) {  // random text: nearly incompressible
    std::string s(cols, ' ');
    for (char& c : s) c = static_cast<char>('!' + rng() % 94);
    rows.push_back(text_row(s));
    h.append(rows.back());
    CHECK(h.stored_bytes() <= max_bytes);
  }
  CHECK(h.begin() > 0);
  CHECK(h.stored_bytes() >= max_bytes / 2);
  auto got = h.read(h.begin(), h.end() - h.begin());
  REQUIRE(got);
  CHECK(std::equal(got->begin(), got->end(), rows.begin() + static_cast<ptrdiff_t>(h.begin())));
}

TEST_CASE("a zero line limit keeps nothing") {
  History h({.max_lines = 0});
  h.append(text_row("gone"));
  h.append(text_row("gone too"));
  CHECK(h.end() == 2);
  CHECK(h.begin() == 2);
  CHECK(find(h, "gone").empty());
}

TEST_CASE("sealed blocks are compressed") {
  History h;
  size_t raw = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string s = fmt::format("{:06} INFO request served from cache in {} ms", i, i % 50);
    raw += s.size();
    h.append(text_row(s));
  }
  CHECK(h.stored_bytes() * 8 < raw);
}

TEST_CASE("search: case, direction, max_results") {
  History h;
  const std::vector<std::string> text = {"Error: disk full", "all good", "error: retrying",
                                         "ERROR again",      "fine",     "an error at the end"};
  for (const auto& s : text) h.append(text_row(s));

  CHECK(find(h, "error") == Lines{2, 5});
  CHECK(find(h, "error", {.case_sensitive = false}) == Lines{0, 2, 3, 5});
  CHECK(find(h, "ERROR", {.case_sensitive = false}) == Lines{0, 2, 3, 5});
  CHECK(find(h, "error", {.case_sensitive = false, .from = 1}) == Lines{2, 3, 5});
  CHECK(find(h, "error", {.case_sensitive = false, .from = 3, .max_results = 1}) == Lines{3});
  CHECK(find(h, "error", {.case_sensitive = false, .backward = true, .from = 4}) == Lines{3, 2, 0});
  CHECK(find(h, "error", {.case_sensitive = false, .backward = true, .from = 100}) ==
        Lines{5, 3, 2, 0});
  CHECK(
      find(h, "error", {.case_sensitive = false, .backward = true, .from = 3, .max_results = 2}) ==
      Lines{3, 2});
  CHECK(find(h, "error", {.from = 6}).empty());
  CHECK(find(h, "nowhere").empty());
  CHECK(find(h, "").empty());
  CHECK(find(h, "full\nall").empty());
  CHECK(find(h, "error", {.max_results = 0}).empty());
}

TEST_CASE("search finds the first and last retained lines and nothing across lines") {
  History h({.max_lines = 1000, .max_bytes = 1 << 30});
  for (int i = 0; i < 5000; ++i) h.append(text_row(fmt::format("row {:05} ends with a", i)));
  const uint64_t first = h.begin(), last = h.end() - 1;
  REQUIRE(first > 0);
  CHECK(find(h, fmt::format("row {:05}", first)) == Lines{first});
  CHECK(find(h, fmt::format("row {:05}", last)) == Lines{last});
  CHECK(find(h, fmt::format("row {:05}", first), {.backward = true, .from = last}) == Lines{first});
  CHECK(find(h, fmt::format("row {:05}", last), {.backward = true, .from = last}) == Lines{last});
  CHECK(find(h, fmt::format("row {:05}", first - 1)).empty());  // dropped
  CHECK(find(h, "aro").empty());  // "...with a" + "row ..." only across a line end
  CHECK(find(h, "a row").empty());
  CHECK(find(h, "ends with a").size() == h.end() - h.begin());
  CHECK(find(h, "ends with a", {.backward = true, .from = last}).front() == last);
}

TEST_CASE("search reaches the live screen after history") {
  History h;
  h.append(text_row("old match"));
  h.append(text_row("nothing"));
  const std::vector<Row> screen = {text_row("screen match"), text_row("prompt $")};
  CHECK(find(h, "match", {}, screen) == Lines{0, 2});
  CHECK(find(h, "match", {.from = 1}, screen) == Lines{2});
  CHECK(find(h, "match", {.from = 2}, screen) == Lines{2});
  CHECK(find(h, "match", {.from = 3}, screen).empty());
  CHECK(find(h, "match", {.backward = true, .from = 3}, screen) == Lines{2, 0});
  CHECK(find(h, "match", {.backward = true, .from = 1}, screen) == Lines{0});
  CHECK(find(h, "match", {.max_results = 1}, screen) == Lines{0});
  CHECK(find(h, "prompt", {.backward = true, .from = 100}, screen) == Lines{3});
  History empty;
  CHECK(find(empty, "match", {}, screen) == Lines{0});
  CHECK(find(empty, "match", {.backward = true, .from = 9}, screen) == Lines{0});
}

TEST_CASE("search matches non-ASCII text") {
  History h;
  Row row = text_row("");
  put_wide(row, 0, U'日');
  put_wide(row, 2, U'本');
  h.append(row);
  Row accented = text_row("Cafe");
  accented.marks = {{3, U"\u0301"}};
  h.append(accented);
  CHECK(find(h, "日本") == Lines{0});
  CHECK(find(h, "cafe\u0301", {.case_sensitive = false}) == Lines{1});
  CHECK(find(h, "Café").empty());  // precomposed é is not e + U+0301
}

TEST_CASE("search agrees with a line-by-line scan") {
  std::mt19937 rng(3);
  History h({.max_lines = 4000, .max_bytes = 1 << 30});
  std::vector<std::string> lines;
  for (int i = 0; i < 12'000; ++i) {
    std::string s(rng() % 30, ' ');
    for (char& c : s) c = "abAB c"[rng() % 6];
    lines.push_back(s);
    h.append(text_row(s));
  }
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (int trial = 0; trial < 200; ++trial) {
    std::string needle(1 + rng() % 4, ' ');
    for (char& c : needle) c = "abAB c"[rng() % 6];
    SearchOptions o{.case_sensitive = rng() % 2 == 0,
                    .backward = rng() % 2 == 0,
                    .from = rng() % 13'000,
                    .max_results = 1 + rng() % 50};
    Lines want;
    for (uint64_t i = 0; i < lines.size() && want.size() < o.max_results; ++i) {
      const uint64_t line = o.backward ? lines.size() - 1 - i : i;
      if (line < h.begin() || (o.backward ? line > o.from : line < o.from)) continue;
      const bool hit = o.case_sensitive
                           ? lines[line].find(needle) != std::string::npos
                           : lower(lines[line]).find(lower(needle)) != std::string::npos;
      if (hit) want.push_back(line);
    }
    CAPTURE(needle);
    CAPTURE(o.from);
    CAPTURE(o.backward);
    CHECK(find(h, needle, o) == want);
  }
}

}  // namespace
}  // namespace roam::mux
