#include "protocol/sgr.h"

#include <algorithm>
#include <string_view>

#include "protocol/utf8.h"

namespace roam {

namespace {

constexpr int max_csi_args = 16;

int csi_args(std::string_view seq) {
  return 1 + static_cast<int>(std::count_if(seq.begin(), seq.end(), [](char c) { return c == ';' || c == ':'; }));
}

void append_rgb(uint32_t v, char sep, std::string& out) {
  append_decimal(v >> 16, out);
  out += sep;
  append_decimal((v >> 8) & 0xff, out);
  out += sep;
  append_decimal(v & 0xff, out);
}

// A colour as the program set it: 30-37/90-97 for the 16 colours of SGR's
// own, 38;5;N for the palette's.
void append_color(Color c, unsigned base, std::string& out) {
  const uint32_t i = c.value();
  switch (c.kind()) {
    case Color::default_color: append_decimal(base + 9, out); break;
    case Color::indexed:
      if (i < 16) {
        append_decimal(i < 8 ? base + i : base + 60 + (i - 8), out);
        break;
      }
      [[fallthrough]];
    case Color::palette:
      append_decimal(base + 8, out);
      out += ";5;";
      append_decimal(i, out);
      break;
    case Color::rgb:
      append_decimal(base + 8, out);
      out += ";2;";
      append_rgb(i, ';', out);
      break;
  }
}

// The underline colour, in the colon forms: a terminal that does not know
// SGR 58 skips them whole, where it would take 58;5;N's 5 for blink.
void append_underline_color(Color c, std::string& out) {
  switch (c.kind()) {
    case Color::default_color: out += "59"; break;
    case Color::indexed:
    case Color::palette:
      out += "58:5:";
      append_decimal(c.value(), out);
      break;
    case Color::rgb:
      out += "58:2::";
      append_rgb(c.value(), ':', out);
      break;
  }
}

// Appends ";P" for each parameter that turns `from` into `to`.
void append_params(const Pen& from, const Pen& to, std::string& out) {
  auto param = [&](std::string_view p) {
    out += ';';
    out += p;
  };
  uint16_t a = from.attrs;
  const uint16_t b = to.attrs;
  constexpr uint16_t intensity = attr_bold | attr_faint;
  if (a & ~b & intensity) {  // 22 clears both bold and faint
    param("22");
    a &= ~intensity;
  }
  if (b & ~a & attr_bold) param("1");
  if (b & ~a & attr_faint) param("2");
  const auto flag = [&](uint16_t bit, std::string_view on, std::string_view off) {
    if ((a ^ b) & bit) param(b & bit ? on : off);
  };
  flag(attr_italic, "3", "23");
  if ((a ^ b) & attr_underline_mask) {
    static constexpr std::string_view underline[] = {"24", "4", "4:2", "4:3", "4:4", "4:5", "4", "4"};
    param(underline[(b & attr_underline_mask) >> attr_underline_shift]);
  }
  flag(attr_blink, "5", "25");
  flag(attr_reverse, "7", "27");
  flag(attr_conceal, "8", "28");
  flag(attr_strike, "9", "29");
  if (from.fg != to.fg) {
    out += ';';
    append_color(to.fg, 30, out);
  }
  if (from.bg != to.bg) {
    out += ';';
    append_color(to.bg, 40, out);
  }
  if (from.ul != to.ul) {
    out += ';';
    append_underline_color(to.ul, out);
  }
}

// "ESC [" `head` parameters "m", split in two sequences (attributes, then
// colours) when one would carry too many.
void append_sequence(std::string_view head, const Pen& from, const Pen& to, std::string& out) {
  const size_t start = out.size();
  out += "\x1b[";
  out += head;
  const size_t params = out.size();
  append_params(from, to, out);
  if (head.empty() && out.size() > params) out.erase(params, 1);  // no leading ';'
  out += 'm';
  if (csi_args(std::string_view(out).substr(start)) <= max_csi_args) return;
  out.resize(start);
  const Pen attrs{from.fg, from.bg, to.attrs, from.ul};
  append_sequence(head, from, attrs, out);
  append_sequence({}, attrs, to, out);
}

}  // namespace

void append_decimal(unsigned v, std::string& out) {
  char buf[10];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out += buf[--n];
}

void append_sgr_change(const Pen& from, const Pen& to, std::string& out) { append_sequence({}, from, to, out); }

void append_sgr(const Pen& pen, std::string& out) { append_sequence("0", Pen{}, pen, out); }

void append_row_text(const Row& row, bool ansi, std::string& out) {
  const Pen plain{};
  size_t end = row.cells.size();
  while (end > 0 && (row.cells[end - 1].ch == 0 || row.cells[end - 1].ch == ' ') &&
         row.cells[end - 1].pen().look() == plain)
    --end;
  size_t mark = 0;
  Pen current = plain;
  for (size_t x = 0; x < end; ++x) {
    const Cell& c = row.cells[x];
    if (c.ch == Cell::wide_tail) continue;
    if (ansi && c.pen().look() != current) {
      current = c.pen().look();
      append_sgr(current, out);
    }
    append_utf8(c.ch == 0 ? ' ' : c.ch, out);
    while (mark < row.marks.size() && row.marks[mark].first < x) ++mark;
    for (; mark < row.marks.size() && row.marks[mark].first == x; ++mark)
      for (char32_t m : row.marks[mark].second) append_utf8(m, out);
  }
  if (ansi && current != plain) out += "\x1b[0m";
}

}  // namespace roam
