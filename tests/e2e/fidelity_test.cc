// What the local terminal shows against a direct run of the same program
// (issue 16 item 3): colours by palette index, underline colours and styles,
// a coloured blank in the last column.
#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <string>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

TEST_CASE("colours and underlines reach the local terminal as the program wrote them") {
  Sandbox sb;
  const std::string script = sb.dir() + "/colours.sh";
  // Only forms the stand-in terminal (libvterm 0.1.4) reads as xterm does:
  // it takes 58;5;N's 5 for blink, so the direct run would differ there.
  std::ofstream(script) << "printf '\\033[38;5;1mA\\033[48;5;12mB\\033[0;4;58:5:196mC\\033[58:2::10:20:30mD"
                           "\\033[4:3mE\\033[0;31mF\\033[0m\\n'\n"
                           "printf '%79s\\033[41m \\033[0m\\n' ''\n"
                           "printf '\\033[1;4;58;5;202mG\\033[0m\\n'\n"
                           "printf 'colours-done'\n";
  TerminalDriver direct({"/bin/sh", script}, 80, 24);
  REQUIRE(direct.wait_for_text("colours-done"));

  auto t = attach_client(sb, "work", 80, 24);
  REQUIRE(t->wait_for_text("rdy>"));
  t->type("clear; sh " + script + "\r");
  REQUIRE(t->wait_for_text("colours-done"));
  const bool same = t->wait_for([&](const TerminalDriver& d) {
    for (int y = 0; y < 2; ++y)
      if (d.styled_row(y) != direct.styled_row(y)) return false;
    return true;
  }, 10s);
  CHECK_MESSAGE(same, "roam:\n" << t->styled_row(0) << "\n" << t->styled_row(1) << "\ndirect:\n"
                                << direct.styled_row(0) << "\n" << direct.styled_row(1));
  // The local terminal got the program's own forms, which it may draw
  // differently from what libvterm shows.
  const std::string& out = t->output();
  CHECK(contains(out, "38;5;1m"));
  CHECK(contains(out, "48;5;12m"));
  CHECK(contains(out, "58:5:196"));
  CHECK(contains(out, "58:2::10:20:30"));
  CHECK(contains(out, "4:3"));
  CHECK(contains(out, "58:5:202"));  // 58;5;202 as the colour it is, not blink
  CHECK_FALSE(t->styled_row(2).empty());
}
