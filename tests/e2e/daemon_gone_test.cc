// A daemon that goes away under its clients (issue 13 item 12): stopped with
// SIGTERM it says so; killed, a local client notices it is gone and a
// remote one says the server may have restarted and how to re-attach.
#include <doctest/doctest.h>

#include <signal.h>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

TEST_CASE("attack: a daemon stopped by SIGTERM tells its clients") {
  Sandbox sb;
  auto t = attach_client(sb, "work", 80, 24);
  REQUIRE(t->wait_for_text("rdy>"));
  const auto pid = sb.daemon_pid();
  REQUIRE(pid.has_value());
  kill(*pid, SIGTERM);
  CHECK_MESSAGE(t->wait_for_text("[roam-server stopped]", 10s), t->screen_text());
  CHECK(t->wait_exit(10s) == 1);
}

TEST_CASE("attack: a local client notices that its daemon was killed") {
  Sandbox sb;
  auto t = attach_client(sb, "work", 80, 24);
  REQUIRE(t->wait_for_text("rdy>"));
  const auto pid = sb.daemon_pid();
  REQUIRE(pid.has_value());
  kill(*pid, SIGKILL);
  CHECK_MESSAGE(t->wait_for_text("is gone", 20s), t->screen_text());
  CHECK(t->wait_exit(10s) == 1);
  CHECK_MESSAGE(t->contains("roam-server (pid " + std::to_string(*pid) + ")"), t->screen_text());
}

TEST_CASE("attack: a remote client says the server may have restarted, and how to re-attach") {
  Sandbox sb;
  const auto line = sb.attach_line("work", {"/bin/sh"});
  REQUIRE(line.has_value());
  auto t = connect_client(*line, line->port);
  REQUIRE(t->wait_for_text("rdy>"));
  const auto pid = sb.daemon_pid();
  REQUIRE(pid.has_value());
  kill(*pid, SIGKILL);
  CHECK_MESSAGE(t->wait_for_text("may have restarted", 60s), t->screen_text());
  CHECK(t->contains("roam attach"));
  // Leaving now must not claim a detach the server never confirmed.
  t->type("\x1e" "d");
  CHECK(t->wait_exit(10s).has_value());
  CHECK_MESSAGE(t->contains("did not answer"), t->screen_text());
  CHECK_FALSE(t->contains("[detached from"));
}
