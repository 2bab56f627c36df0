// A local terminal slower than the session (issue 13 item 4): a busy
// terminal emulator or a slow ssh hop to the laptop stops reading the
// client's output for a while. Frames in between may be skipped, but once
// the output stops the terminal must show exactly the session's screen.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A full screen (23 rows, 80 columns) where every cell has its own colours,
// so each frame of the redraw below costs the client tens of kilobytes.
std::string coloured_screen(int variant) {
  std::string out;
  for (int y = 0; y < 23; ++y) {
    out += "\x1b[" + std::to_string(y + 1) + ";1H";
    for (int x = 0; x < 80; ++x) {
      const int fg = (x * 7 + y * 3 + variant * 5) % 256, bg = (x + y * 11 + variant * 13) % 256;
      out += "\x1b[38;5;" + std::to_string(fg) + ";48;5;" + std::to_string(bg) + "m";
      out += static_cast<char>('A' + (x + y + variant) % 26);
    }
  }
  return out + "\x1b[0m";
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("attack: a terminal that stops reading mid-redraw shows the session's screen once it reads again") {
  Sandbox sb;
  const std::string dir = sb.dir();
  std::ofstream(dir + "/a") << coloured_screen(0);
  std::ofstream(dir + "/b") << coloured_screen(1);
  // Many full-screen redraws, ending on a screen that shares every row with
  // frames drawn while the terminal was not reading.
  std::ofstream(dir + "/redraw.sh") << "sleep 0.3; i=0; while [ $i -lt 40 ]; do cat " << dir << "/a " << dir
                                    << "/b; i=$((i+1)); done; cat " << dir << "/a; printf '\\033[24;1Hredrawn '; touch "
                                    << dir << "/done\n";
  auto t = attach_client(sb, "work", 80, 24);
  REQUIRE(t->wait_for_text("rdy>"));
  t->type("clear; sh " + dir + "/redraw.sh\r");
  // The reader stops (as SIGSTOP of a terminal emulator would) for 2 s and
  // until the session has drawn its last frame, and a little longer for that
  // frame to reach the client.
  const auto stopped = Clock::now();
  REQUIRE(wait_until([&] { return exists(dir + "/done"); }, 60s));
  std::this_thread::sleep_for(std::max<Clock::duration>(1s, 2s - (Clock::now() - stopped)));
  // Reading again: what the terminal settles on is the session's screen.
  t->wait_for_text("redrawn", 30s);
  auto fresh = attach_client(sb, "work", 80, 24, {});
  REQUIRE_MESSAGE(fresh->wait_for_text("redrawn"), fresh->screen_text());
  const bool same = t->wait_for(
      [&](const TerminalDriver& d) {
        fresh->pump(std::chrono::milliseconds(0));
        return d.styled_text() == fresh->styled_text();
      },
      15s);
  CHECK_MESSAGE(same, "the terminal shows:\n" << t->screen_text() << "\nthe session shows:\n" << fresh->screen_text());
}
