// Job control (issue 13 item 13): the client run from an interactive bash,
// suspended (kill -TSTP, or Ctrl-^ Ctrl-Z as in mosh) and brought back with
// fg. While suspended the terminal is the shell's; back in the foreground it
// is raw again and shows the session.
#include <doctest/doctest.h>

#include <signal.h>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

// An interactive bash (with job control) that has started `roam attach work`.
struct ShellWithClient {
  std::unique_ptr<TerminalDriver> shell;
  pid_t client = -1;
};

ShellWithClient start(Sandbox& sb) {
  ShellWithClient s;
  s.shell = std::make_unique<TerminalDriver>(
      std::vector<std::string>{"/bin/bash", "--norc", "--noprofile", "-i"}, 80, 24,
      std::vector<std::pair<std::string, std::string>>{{"ROAM_RUNTIME_DIR", sb.runtime()}, {"PS1", "outer$ "}});
  REQUIRE(s.shell->wait_for_text("outer$"));
  s.shell->type("PS1='rdy>' ENV= " + roam_bin() + " attach work -- /bin/sh\r");
  // The session's prompt, on the screen roam took over (the command line
  // typed above is no longer on it).
  REQUIRE(s.shell->wait_for([](const TerminalDriver& d) { return d.contains("rdy>") && !d.contains("outer$"); }));
  const auto children = child_pids(s.shell->pid());
  REQUIRE(children.size() == 1);
  s.client = children[0];
  return s;
}

// After fg: raw mode, the session repainted, Ctrl-^ d acting without Enter.
void check_back(ShellWithClient& s) {
  REQUIRE(s.shell->wait_for([&](const TerminalDriver&) { return process_state(s.client) != 'T'; }, 10s));
  CHECK(s.shell->wait_for([](const TerminalDriver& d) { return d.raw_mode(); }, 10s));
  CHECK(s.shell->wait_for([](const TerminalDriver& d) { return d.contains("rdy>") && !d.contains("outer$"); }, 10s));
  s.shell->type("echo back-again\r");
  CHECK(s.shell->wait_for_text("\nback-again\n"));
  s.shell->type("\x1e" "d");
  CHECK_MESSAGE(s.shell->wait_for_text("[detached from work]", 10s), s.shell->screen_text());
  CHECK(s.shell->wait_for_text("outer$"));
}

}  // namespace

TEST_CASE("attack: kill -TSTP then fg leaves the terminal raw and the escape key working") {
  Sandbox sb;
  auto s = start(sb);
  kill(s.client, SIGTSTP);
  REQUIRE(s.shell->wait_for([&](const TerminalDriver&) { return process_state(s.client) == 'T'; }, 10s));
  REQUIRE(s.shell->wait_for_text("outer$"));
  s.shell->type("fg\r");
  check_back(s);
}

TEST_CASE("attack: Ctrl-^ Ctrl-Z suspends the client, and fg brings it back") {
  Sandbox sb;
  auto s = start(sb);
  s.shell->type("\x1e\x1a");
  REQUIRE_MESSAGE(s.shell->wait_for([&](const TerminalDriver&) { return process_state(s.client) == 'T'; }, 10s),
                  s.shell->screen_text());
  REQUIRE(s.shell->wait_for_text("outer$"));
  CHECK(s.shell->cursor_visible());
  s.shell->type("fg\r");
  check_back(s);
}
