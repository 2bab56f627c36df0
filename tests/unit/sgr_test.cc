#include "protocol/sgr.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace roam;

namespace {

std::string sgr(const Pen& p) {
  std::string out;
  append_sgr(p, out);
  return out;
}

std::string change(const Pen& a, const Pen& b) {
  std::string out;
  append_sgr_change(a, b, out);
  return out;
}

int max_args(std::string_view s) {
  int most = 0;
  for (size_t at = s.find("\x1b["); at != std::string_view::npos; at = s.find("\x1b[", at + 1)) {
    const auto end = s.find('m', at);
    const auto seq = s.substr(at, end - at);
    most = std::max(most, 1 + static_cast<int>(std::count_if(seq.begin(), seq.end(), [](char c) { return c == ';' || c == ':'; })));
  }
  return most;
}

}  // namespace

TEST_CASE("full and incremental forms") {
  CHECK(sgr({}) == "\x1b[0m");
  CHECK(sgr({Color::index(1), {}, attr_bold}) == "\x1b[0;1;31m");
  CHECK(sgr({Color::index(9), Color::index(200), 0}) == "\x1b[0;91;48;5;200m");
  CHECK(sgr({Color::from_rgb(1, 2, 3), {}, uint16_t{2} << attr_underline_shift}) == "\x1b[0;4:2;38;2;1;2;3m");
  CHECK(change({}, {{}, {}, attr_italic}) == "\x1b[3m");
  CHECK(change({{}, {}, attr_bold | attr_italic}, {{}, {}, attr_italic}) == "\x1b[22m");
  CHECK(change({Color::index(1), {}, 0}, {}) == "\x1b[39m");
}

TEST_CASE("no sequence carries more than 16 parameters") {
  const uint16_t everything = attr_bold | attr_faint | attr_italic | (uint16_t{3} << attr_underline_shift) | attr_blink |
                              attr_reverse | attr_conceal | attr_strike;
  const Pen loud{Color::from_rgb(255, 128, 0), Color::from_rgb(1, 2, 3), everything};
  const auto full = sgr(loud);
  CHECK(max_args(full) <= 16);
  CHECK(full == "\x1b[0;1;2;3;4:3;5;7;8;9m\x1b[38;2;255;128;0;48;2;1;2;3m");
  CHECK(max_args(change({}, loud)) <= 16);
}

TEST_CASE("colours as the program set them: 38;5;N below 16 is not 30-37, the underline colour in colon form") {
  CHECK(sgr({Color::index256(1), Color::index256(9), 0}) == "\x1b[0;38;5;1;48;5;9m");
  CHECK(sgr({Color::index(1), Color::index(9), 0}) == "\x1b[0;31;101m");
  CHECK(sgr({{}, {}, underline_single << attr_underline_shift, Color::index(196)}) == "\x1b[0;4;58:5:196m");
  CHECK(sgr({{}, {}, 0, Color::from_rgb(10, 20, 30)}) == "\x1b[0;58:2::10:20:30m");
  CHECK(change({{}, {}, 0, Color::index(3)}, {}) == "\x1b[59m");
  CHECK(change({}, {{}, {}, underline_dotted << attr_underline_shift}) == "\x1b[4:4m");
  CHECK(change({}, {{}, {}, underline_dashed << attr_underline_shift}) == "\x1b[4:5m");
}

TEST_CASE("protection is no rendition: it draws nothing") {
  CHECK(change({}, Pen{{}, {}, attr_protected}.look()) == "\x1b[m");
  Row row;
  row.cells.resize(4);
  row.cells[0].ch = 'a';
  row.cells[0].attrs = attr_protected;
  row.cells[1].attrs = attr_protected;
  std::string out;
  append_row_text(row, true, out);
  CHECK(out == "a");
}

TEST_CASE("every colour at once stays within 16 parameters") {
  const Pen loud{Color::from_rgb(255, 128, 0), Color::from_rgb(1, 2, 3), attr_bold | underline_curly << attr_underline_shift,
                 Color::from_rgb(4, 5, 6)};
  CHECK(max_args(sgr(loud)) <= 16);
  CHECK(max_args(change({}, loud)) <= 16);
}

TEST_CASE("row text: wide characters once, marks after their cell, trailing blanks dropped, runs with --ansi") {
  Row row;
  row.cells.resize(8);
  row.cells[0].ch = 'a';
  row.cells[1].ch = 0x4e2d;  // a wide character and its tail
  row.cells[1].width = 2;
  row.cells[2].ch = Cell::wide_tail;
  row.cells[3].ch = 'e';
  row.marks.push_back({3, U"\u0301"});
  row.cells[4].ch = 'r';
  row.cells[4].fg = Color::index(1);
  std::string plain, ansi;
  append_row_text(row, false, plain);
  append_row_text(row, true, ansi);
  CHECK(plain == "a\xe4\xb8\xad" "e\xcc\x81r");
  CHECK(ansi == "a\xe4\xb8\xad" "e\xcc\x81\x1b[0;31mr\x1b[0m");
}
