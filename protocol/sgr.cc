#include "protocol/sgr.h"

#include <fmt/format.h>

namespace roam {

namespace {

void append_color(Color c, int base, std::string& out) {
  switch (c.kind()) {
    case Color::default_color: break;
    case Color::indexed: {
      const uint32_t i = c.value();
      if (i < 8) fmt::format_to(std::back_inserter(out), ";{}", base + i);
      else if (i < 16) fmt::format_to(std::back_inserter(out), ";{}", base + 60 + (i - 8));
      else fmt::format_to(std::back_inserter(out), ";{};5;{}", base + 8, i);
      break;
    }
    case Color::rgb: {
      const uint32_t v = c.value();
      fmt::format_to(std::back_inserter(out), ";{};2;{};{};{}", base + 8, v >> 16, (v >> 8) & 0xff, v & 0xff);
      break;
    }
  }
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

void append_sgr(const Pen& pen, std::string& out) {
  out += "\x1b[0";
  const uint16_t a = pen.attrs;
  if (a & attr_bold) out += ";1";
  if (a & attr_faint) out += ";2";
  if (a & attr_italic) out += ";3";
  switch ((a & attr_underline_mask) >> attr_underline_shift) {
    case 1: out += ";4"; break;
    case 2: out += ";4:2"; break;
    case 3: out += ";4:3"; break;
    default: break;
  }
  if (a & attr_blink) out += ";5";
  if (a & attr_reverse) out += ";7";
  if (a & attr_conceal) out += ";8";
  if (a & attr_strike) out += ";9";
  append_color(pen.fg, 30, out);
  append_color(pen.bg, 40, out);
  out += 'm';
}

void append_row_text(const Row& row, bool ansi, std::string& out) {
  const Pen plain{};
  size_t end = row.cells.size();
  while (end > 0 && (row.cells[end - 1].ch == 0 || row.cells[end - 1].ch == ' ') && row.cells[end - 1].pen() == plain)
    --end;
  size_t mark = 0;
  while (mark < row.marks.size() && row.marks[mark].first < end) ++mark;
  const size_t marks_in_range = mark;
  mark = 0;
  Pen current = plain;
  for (size_t x = 0; x < end; ++x) {
    const Cell& c = row.cells[x];
    if (c.ch == Cell::wide_tail) continue;
    if (ansi && c.pen() != current) {
      current = c.pen();
      append_sgr(current, out);
    }
    append_utf8(c.ch == 0 ? ' ' : c.ch, out);
    while (mark < marks_in_range && row.marks[mark].first < x) ++mark;
    while (mark < marks_in_range && row.marks[mark].first == x) {
      for (char32_t m : row.marks[mark].second) append_utf8(m, out);
      ++mark;
    }
  }
  if (ansi && current != plain) out += "\x1b[0m";
}

}  // namespace roam
