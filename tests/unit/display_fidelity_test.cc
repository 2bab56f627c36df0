// The display against the frame it draws, for what a program sets that
// terminals show differently: colours by palette index, the underline's
// colour and style, a coloured blank in the last column (issue 16).
#include <doctest/doctest.h>

#include <string>

#include "client/display.h"
#include "mux/terminal.h"
#include "tests/unit/vt.h"

using roam::Color;
using roam::Pen;
using roam::Screen;
using roam::test::contains;
using roam::test::mismatch;
using roam::test::put;
using roam::test::Setup;
using roam::test::Vt;
using roam::test::write;

namespace {

// Where the terminal a program writes `bytes` to directly differs from the
// one roam draws it on (its server's terminal, then the client's display).
std::string direct_vs_roam(int cols, int rows, std::string_view bytes) {
  Vt direct(cols, rows);
  direct.feed(bytes);
  roam::mux::Terminal server(cols, rows);
  server.write(bytes);
  Setup s(cols, rows);
  s.draw(server.screen());
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const VTermScreenCell a = direct.cell(x, y), b = s.t.cell(x, y);
      const auto ch = [](const VTermScreenCell& c) { return c.chars[0] == 0 ? uint32_t{' '} : c.chars[0]; };
      if (ch(a) != ch(b) || !vterm_color_is_equal(&a.bg, &b.bg) || !vterm_color_is_equal(&a.fg, &b.fg) ||
          a.attrs.bold != b.attrs.bold || a.attrs.underline != b.attrs.underline || a.attrs.blink != b.attrs.blink ||
          a.attrs.reverse != b.attrs.reverse || a.attrs.italic != b.attrs.italic)
        return fmt::format("({}, {}): direct U+{:04X} roam U+{:04X}", x, y, ch(a), ch(b));
    }
  return {};
}

}  // namespace

TEST_CASE("colours and underlines reach the terminal as the program wrote them") {
  roam::mux::Terminal server(20, 3);
  server.write("\x1b[38;5;1mA\x1b[48;5;12mB\x1b[0;4;58;5;196mC\x1b[58:2::10:20:30mD\x1b[4:3mE\x1b[4:4mF\x1b[0;31mG");
  Setup s(20, 3);
  const std::string out = s.draw(server.screen());
  CHECK(contains(out, "38;5;1m"));
  CHECK(contains(out, "48;5;12m"));
  CHECK(contains(out, "58:5:196"));
  CHECK(contains(out, "58:2::10:20:30"));
  CHECK(contains(out, "4:3"));
  CHECK(contains(out, "4:4"));
  CHECK(contains(out, "31m"));
  CHECK(mismatch(s.t, server.screen()) == "");
  CHECK_FALSE(s.t.cell(2, 0).attrs.blink);  // 58;5;196 is no blink
  CHECK(s.t.cell(2, 0).attrs.underline == 1);
}

TEST_CASE("a blank with a background in the last column is drawn there, its pen reset on its row") {
  CHECK(direct_vs_roam(10, 3, "abcdefghi\x1b[41m \x1b[0m\r\nx") == "");
  CHECK(direct_vs_roam(10, 3, "abc\x1b[10G\x1b[41m \x1b[0m\r\nx") == "");
  CHECK(direct_vs_roam(10, 3, "abc\x1b[41m\x1b[K\x1b[0m\r\nx") == "");
  CHECK(direct_vs_roam(10, 3, "\x1b[41m          \x1b[0m\nx") == "");
  CHECK(direct_vs_roam(10, 3, "\x1b[3;10H\x1b[41m \x1b[0m") == "");
}
