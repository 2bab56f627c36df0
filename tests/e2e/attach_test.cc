// roam attach end to end: the real client in a pseudo-terminal, its screen
// read back through libvterm, against the real daemon over UDP on loopback.
#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

// A client of session `name` in the sandbox, running `sh` with the prompt "rdy>".
std::unique_ptr<TerminalDriver> attach(Sandbox& sb, const std::string& name, int cols = 80, int rows = 24,
                                       std::vector<std::string> command = {"/bin/sh"}) {
  return attach_client(sb, name, cols, rows, std::move(command));
}

// The prompt has no trailing blank: rows are read back with trailing blanks dropped.
bool ready(TerminalDriver& t) { return t.wait_for_text("rdy>"); }

}  // namespace

TEST_CASE("type a command and see its output; detach; re-attach to the same screen") {
  Sandbox sb;
  auto t = attach(sb, "work");
  REQUIRE(ready(*t));
  t->type("echo hello-roam\r");
  // The prompt after the output too: it may come in a later frame.
  REQUIRE(t->wait_for_text("\nhello-roam\nrdy>"));
  const std::string before = t->screen_text();

  t->type("\x1e" "d");
  REQUIRE(t->wait_for_text("[detached from work]"));
  CHECK(t->wait_exit() == 0);
  CHECK(t->cursor_visible());
  // The session lives on, with no client.
  CHECK(sb.roam({"ls"}).out.find("work ") != std::string::npos);

  auto again = attach(sb, "work", 80, 24, {});
  REQUIRE(again->wait_for_text("hello-roam"));
  CHECK(again->wait_for([&](const TerminalDriver& d) { return d.screen_text() == before; }, 10s));
  again->type("\x1e.");
  CHECK(again->wait_exit() == 0);
}

TEST_CASE("two clients attached to one session show the same text") {
  Sandbox sb;
  auto a = attach(sb, "shared");
  REQUIRE(ready(*a));
  auto b = attach(sb, "shared", 80, 24, {});
  REQUIRE(ready(*b));
  b->type("echo from-b\r");
  CHECK(a->wait_for_text("\nfrom-b\n"));
  a->type("echo from-a\r");
  CHECK(b->wait_for_text("\nfrom-a\n"));
  CHECK(a->wait_for([&](const TerminalDriver& d) { b->pump(); return d.screen_text() == b->screen_text(); }, 10s));
  auto r = sb.roam({"ls"});
  CHECK(r.out.find("  2  ") != std::string::npos);
}

TEST_CASE("resizing the client's terminal resizes the session") {
  Sandbox sb;
  auto t = attach(sb, "sized", 80, 24);
  REQUIRE(ready(*t));
  t->type("stty size\r");
  REQUIRE(t->wait_for_text("\n24 80\n"));
  t->resize(100, 30);
  // Give the resize a moment to travel, then ask again until it shows.
  CHECK(t->wait_for([&](const TerminalDriver& d) {
    if (d.contains("30 100")) return true;
    t->type("stty size\r");
    t->pump(300ms);
    return false;
  }));
}

TEST_CASE("a full-screen program survives detach and re-attach") {
  Sandbox sb;
  {
    std::ofstream f(sb.dir() + "/story.txt");
    for (int i = 1; i <= 200; ++i) f << "story line " << i << "\n";
  }
  auto t = attach(sb, "pager");
  REQUIRE(ready(*t));
  t->type("less " + sb.dir() + "/story.txt\r");
  REQUIRE(t->wait_for_text("story line 23"));
  t->type(" ");  // next page
  REQUIRE(t->wait_for_text("story line 40"));
  const std::string page = t->settled_text();
  t->type("\x1e" "d");
  REQUIRE(t->wait_exit() == 0);

  auto again = attach(sb, "pager", 80, 24, {});
  REQUIRE(again->wait_for_text("story line 40"));
  CHECK(again->wait_for([&](const TerminalDriver& d) { return d.screen_text() == page; }, 10s));
  again->type("q");
  CHECK(again->wait_for_text("rdy>"));
}

TEST_CASE("kill -9 of the client leaves the session running and re-attachable") {
  Sandbox sb;
  auto t = attach(sb, "sturdy");
  REQUIRE(ready(*t));
  t->type("echo still-here\r");
  REQUIRE(t->wait_for_text("\nstill-here\n"));
  kill(t->pid(), SIGKILL);
  CHECK(t->wait_exit() == 128 + SIGKILL);
  auto again = attach(sb, "sturdy", 80, 24, {});
  CHECK(again->wait_for_text("still-here"));
  again->type("echo and-more\r");
  CHECK(again->wait_for_text("\nand-more\n"));
}

TEST_CASE("the shell exiting ends the client with the exit line") {
  Sandbox sb;
  auto t = attach(sb, "brief");
  REQUIRE(ready(*t));
  t->type("exit 3\r");
  CHECK_MESSAGE(t->wait_for_text("[brief exited with code 3]"), t->screen_text());
  CHECK(t->wait_exit() == 0);
  CHECK(t->cursor_visible());
}

TEST_CASE("Ctrl-^ ^ sends a literal Ctrl-^ and other keys after the escape pass through") {
  Sandbox sb;
  auto t = attach(sb, "keys", 80, 24, {"/bin/sh", "-c", "stty raw -echo; od -An -c -N 3; sleep 100"});
  t->pump(500ms);
  t->type("\x1e^");
  t->type("\x1ex");
  t->type("y");
  CHECK(t->wait_for_text("036   x   y"));
}
