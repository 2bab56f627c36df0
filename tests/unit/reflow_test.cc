#include "protocol/reflow.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/rows.h"

using roam::Cell;
using roam::Color;
using roam::GridPos;
using roam::Reflow;
using roam::Row;
using roam::test::text;
using roam::test::text_row;

namespace {

constexpr uint32_t wide_char = 0x4e2d;  // 中

// Rows `width` cells wide from lines of text, each split at the width with
// all but its last row wrapped; "" is a blank row.
std::vector<Row> wrapped_rows(const std::vector<std::string>& lines, int width) {
  std::vector<Row> rows;
  for (const std::string& line : lines) {
    size_t at = 0;
    do {
      Row r = text_row(line.substr(at, static_cast<size_t>(width)));
      r.cells.resize(static_cast<size_t>(width), Cell{});
      at += static_cast<size_t>(width);
      r.wrapped = at < line.size();
      rows.push_back(std::move(r));
    } while (at < line.size());
  }
  return rows;
}

std::vector<Row> reflow(const std::vector<Row>& rows, int cols, std::vector<GridPos>* places = nullptr) {
  std::vector<GridPos> none;
  const Reflow plan(rows, cols, places ? *places : none);
  std::vector<Row> out;
  plan.write(0, plan.size(), [&](Row& r) { out.push_back(std::move(r)); });
  CHECK(static_cast<int>(out.size()) == plan.size());
  return out;
}

// Each row as its text, with "+" after a wrapped one.
std::vector<std::string> shown(const std::vector<Row>& rows) {
  std::vector<std::string> out;
  for (const Row& r : rows) out.push_back(text(r) + (r.wrapped ? "+" : ""));
  return out;
}

void put_wide(Row& r, int x) {
  r.cells[x] = Cell{wide_char, {}, {}, 0, 2};
  r.cells[x + 1] = Cell{Cell::wide_tail, {}, {}, 0, 1};
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("narrowing splits a line's rows, widening joins them") {
  const std::vector<Row> wide = wrapped_rows({"abcdefghij", "", "xy"}, 12);
  const std::vector<Row> narrow = reflow(wide, 4);
  CHECK(shown(narrow) == Lines{"abcd+", "efgh+", "ij", "", "xy"});
  for (const Row& r : narrow) CHECK(r.cells.size() == 4);

  const std::vector<Row> again = reflow(narrow, 12);
  CHECK(shown(again) == Lines{"abcdefghij", "", "xy"});
  for (const Row& r : again) CHECK(r.cells.size() == 12);
  CHECK(again == wide);

  SUBCASE("a wider line than the new width, joined only as far as it fits") {
    CHECK(shown(reflow(narrow, 6)) == Lines{"abcdef+", "ghij", "", "xy"});
  }
  SUBCASE("a full last row stays one row") {
    CHECK(shown(reflow(wrapped_rows({"abcd"}, 8), 4)) == Lines{"abcd"});
  }
}

TEST_CASE("200 -> 40 -> 200 columns gives back the same rows") {
  std::vector<std::string> lines;
  for (int i = 1; i <= 20; ++i)
    lines.push_back("L" + std::to_string(i) + "-" + std::string(150, '0') + "-END" + std::to_string(i));
  lines.emplace_back("$ ");
  const std::vector<Row> at200 = wrapped_rows(lines, 200);
  const std::vector<Row> at40 = reflow(at200, 40);
  CHECK(at40 == wrapped_rows(lines, 40));
  CHECK(reflow(at40, 200) == at200);
  CHECK(reflow(reflow(at40, 7), 200) == at200);
}

TEST_CASE("wide characters are never split across rows") {
  Row r = text_row("abc     ");
  put_wide(r, 3);
  r.cells[5] = Cell{'d', {}, {}, 0, 1};
  r.cells[6] = r.cells[7] = Cell{};
  // "abc中d": 中 would straddle columns 3 and 4 of a 4-column row.
  const std::vector<Row> narrow = reflow({r}, 4);
  REQUIRE(narrow.size() == 2);
  CHECK(text(narrow[0]) == "abc");
  CHECK(narrow[0].wrapped);
  CHECK(narrow[0].cells[3] == Cell{});  // the padding it left
  CHECK(narrow[1].cells[0].ch == wide_char);
  CHECK(narrow[1].cells[0].width == 2);
  CHECK(narrow[1].cells[1].ch == Cell::wide_tail);
  CHECK(narrow[1].cells[2].ch == 'd');

  SUBCASE("widening drops the padding") {
    const std::vector<Row> back = reflow(narrow, 8);
    REQUIRE(back.size() == 1);
    CHECK(back[0] == r);
  }
  SUBCASE("one column: it becomes narrow, as Screen stores it there") {
    const std::vector<Row> one = reflow({r}, 1);
    REQUIRE(one.size() == 5);
    CHECK(one[3].cells[0].ch == wide_char);
    CHECK(one[3].cells[0].width == 1);
    CHECK(text(one[4]) == "d");
  }
}

TEST_CASE("combining marks stay with their cell") {
  Row r = text_row("abcdef");
  r.marks.emplace_back(uint16_t{1}, U"\u0301");
  r.marks.emplace_back(uint16_t{4}, U"\u0308\u0301");
  const std::vector<Row> narrow = reflow({r}, 3);
  REQUIRE(narrow.size() == 2);
  CHECK(narrow[0].marks == std::vector<std::pair<uint16_t, std::u32string>>{{1, U"\u0301"}});
  CHECK(narrow[1].marks == std::vector<std::pair<uint16_t, std::u32string>>{{1, U"\u0308\u0301"}});
  CHECK(reflow(narrow, 6) == std::vector<Row>{r});
}

TEST_CASE("places move with their cell") {
  const std::vector<Row> rows = wrapped_rows({"abcdefghij", "$ "}, 12);

  SUBCASE("inside the text") {
    std::vector<GridPos> at{{7, 0}, {0, 1}, {1, 1}};  // on 'h', '$' and ' '
    reflow(rows, 4, &at);
    CHECK(at == std::vector<GridPos>{{3, 1}, {0, 3}, {1, 3}});
    reflow(wrapped_rows({"abcdefghij", "$ "}, 4), 12, &at);
    CHECK(at == std::vector<GridPos>{{7, 0}, {0, 1}, {1, 1}});
  }
  SUBCASE("past the text: as far past it as fits") {
    std::vector<GridPos> at{{2, 1}, {9, 1}, {11, 0}};
    reflow(rows, 4, &at);
    CHECK(at == std::vector<GridPos>{{2, 3}, {3, 3}, {3, 2}});
  }
  SUBCASE("just past a full row: on its last glyph, pending wrap") {
    std::vector<GridPos> at{{8, 0}};  // after "abcdefgh", where 'i' would go
    reflow(wrapped_rows({"abcdefgh"}, 12), 4, &at);
    CHECK(at == std::vector<GridPos>{{3, 1, true}});
    // And back: just past the glyph, where the next one goes.
    reflow(wrapped_rows({"abcdefgh"}, 4), 12, &at);
    CHECK(at == std::vector<GridPos>{{8, 0, false}});
  }
  SUBCASE("a pending wrap inside a line moves to the start of the next row's text") {
    std::vector<GridPos> at{{3, 0, true}};  // 'd' was just printed over "abcd|efgh"
    reflow(wrapped_rows({"abcdefgh"}, 4), 3, &at);
    CHECK(at == std::vector<GridPos>{{1, 1, false}});  // on 'e'
  }
  SUBCASE("in the padding of a wrapped row: the start of the next row's text") {
    Row first = text_row("abc ");
    first.cells[3] = Cell{};
    first.wrapped = true;
    Row second = text_row("    ");
    put_wide(second, 0);
    std::vector<GridPos> at{{3, 0}};
    reflow({first, second}, 8, &at);
    CHECK(at == std::vector<GridPos>{{3, 0}});  // on 中, joined after "abc"
  }
  SUBCASE("places off the rows are left alone") {
    std::vector<GridPos> at{{1, 7}};
    reflow(rows, 4, &at);
    CHECK(at == std::vector<GridPos>{{1, 7}});
  }
}

TEST_CASE("blank rows at the end, and coloured blanks after the text") {
  std::vector<Row> rows = wrapped_rows({"abcdef", "", ""}, 8);
  const Reflow plan(rows, 3, {});
  CHECK(plan.size() == 4);
  CHECK(plan.blank_at_end() == 2);

  SUBCASE("a row of coloured blanks is not blank, and keeps its colour as far as it fits") {
    Cell red;
    red.bg = Color::index(1);
    for (Cell& c : rows[1].cells) c = red;
    const Reflow coloured(rows, 3, {});
    CHECK(coloured.size() == 4);
    CHECK(coloured.blank_at_end() == 1);
    std::vector<Row> out;
    coloured.write(2, 3, [&](Row& r) { out.push_back(r); });
    REQUIRE(out.size() == 1);
    CHECK(out[0].cells == std::vector<Cell>(3, red));
  }
}

TEST_CASE("write makes only the rows asked for") {
  const std::vector<Row> rows = wrapped_rows({"abcdefghij", "klmnop"}, 12);
  const Reflow plan(rows, 2, {});
  REQUIRE(plan.size() == 8);
  std::vector<Row> out;
  plan.write(4, 6, [&](Row& r) { out.push_back(std::move(r)); });
  CHECK(shown(out) == Lines{"ij", "kl+"});
  out.clear();
  plan.write(-3, 1, [&](Row& r) { out.push_back(std::move(r)); });
  CHECK(shown(out) == Lines{"ab+"});
  out.clear();
  plan.write(7, 99, [&](Row& r) { out.push_back(std::move(r)); });
  CHECK(shown(out) == Lines{"op"});
}
