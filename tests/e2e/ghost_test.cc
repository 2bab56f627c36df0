// Clients that die without detaching (issue 13 item 11): a closed terminal
// window, SIGHUP, SIGTERM, kill -9. The server must not go on counting them
// as attached, nor keep the session at a dead client's size.
#include <doctest/doctest.h>

#include <signal.h>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

// Session "work" with two clients: `big` (100x30) attached first, `small`
// (80x24) attached after it and typing last, so the session is small's size.
struct TwoClients {
  std::unique_ptr<TerminalDriver> big, small;
};

TwoClients two_clients(Sandbox& sb) {
  TwoClients c;
  c.big = attach_client(sb, "work", 100, 30);
  REQUIRE(c.big->wait_for_text("rdy>"));
  c.small = attach_client(sb, "work", 80, 24, {});
  REQUIRE(c.small->wait_for_text("rdy>"));
  c.small->type("echo typed-by-small\r");
  REQUIRE(c.small->wait_for_text("\ntyped-by-small\n"));
  REQUIRE(wait_until([&] { return ls_column(sb, "work", "CLIENTS") == "2"; }, 20s));
  REQUIRE(ls_column(sb, "work", "SIZE") == "80x24");
  return c;
}

}  // namespace

TEST_CASE("attack: a client ended by SIGHUP, SIGTERM or its terminal closing leaves no ghost") {
  Sandbox sb;
  auto c = two_clients(sb);
  SUBCASE("SIGHUP") { kill(c.small->pid(), SIGHUP); }
  SUBCASE("SIGTERM") { kill(c.small->pid(), SIGTERM); }
  SUBCASE("the terminal closed") { c.small->hang_up(); }
  CHECK(c.small->wait_exit(10s).has_value());
  // It said goodbye: promptly one client, and the size of the one left.
  CHECK(wait_until([&] { return ls_column(sb, "work", "CLIENTS") == "1"; }, 10s));
  CHECK(wait_until([&] { return ls_column(sb, "work", "SIZE") == "100x30"; }, 10s));
  CHECK(c.big->wait_for_text("typed-by-small"));
}

TEST_CASE("attack: a client killed with kill -9 is shown stale and no longer sets the size") {
  Sandbox sb;
  auto c = two_clients(sb);
  kill(c.small->pid(), SIGKILL);
  CHECK(c.small->wait_exit(10s) == 128 + SIGKILL);
  // Not heard for 30 s: stale. Silent over a minute: the size is the live client's.
  CHECK(wait_until([&] { return ls_column(sb, "work", "CLIENTS") == "1 (+1 stale)"; }, 60s));
  CHECK(wait_until([&] { return ls_column(sb, "work", "SIZE") == "100x30"; }, 90s));
  // The live client is still attached and working.
  c.big->type("echo still-big\r");
  CHECK(c.big->wait_for_text("\nstill-big\n"));
}
