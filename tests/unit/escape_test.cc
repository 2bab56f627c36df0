#include "client/escape.h"

#include <doctest/doctest.h>

using namespace roam::client;

namespace {

struct Fed {
  std::string to_session;
  std::vector<LocalCommand> commands;
};

Fed feed(EscapeKeys& e, std::string_view in) {
  Fed f;
  e.feed(in, f.to_session, f.commands);
  return f;
}

}  // namespace

TEST_CASE("plain keys pass through untouched") {
  EscapeKeys e;
  auto f = feed(e, "ls -l\r\x03\x1b[A");
  CHECK(f.to_session == "ls -l\r\x03\x1b[A");
  CHECK(f.commands.empty());
}

TEST_CASE("Ctrl-^ d and Ctrl-^ . detach; nothing reaches the session") {
  for (std::string_view keys : {"\x1e" "d", "\x1e."}) {
    EscapeKeys e;
    auto f = feed(e, keys);
    CHECK(f.to_session.empty());
    REQUIRE(f.commands.size() == 1);
    CHECK(f.commands[0] == LocalCommand::detach);
  }
}

TEST_CASE("Ctrl-^ ^ and Ctrl-^ Ctrl-^ send one literal Ctrl-^") {
  EscapeKeys e;
  CHECK(feed(e, "\x1e^").to_session == "\x1e");
  CHECK(feed(e, "\x1e\x1e").to_session == "\x1e");
}

TEST_CASE("an escape split across reads still works") {
  EscapeKeys e;
  auto first = feed(e, "abc\x1e");
  CHECK(first.to_session == "abc");
  auto second = feed(e, "d");
  CHECK(second.to_session.empty());
  REQUIRE(second.commands.size() == 1);
  CHECK(second.commands[0] == LocalCommand::detach);
}

TEST_CASE("any other key after the escape passes through; ? asks for help; Ctrl-L repaints and passes") {
  EscapeKeys e;
  auto f = feed(e, "\x1ex\x1e?\x0c");
  CHECK(f.to_session == "x\x0c");
  REQUIRE(f.commands.size() == 2);
  CHECK(f.commands[0] == LocalCommand::help);
  CHECK(f.commands[1] == LocalCommand::repaint);
}

TEST_CASE("Ctrl-^ [ and Ctrl-^ PgUp open the pager, even split across reads; other keys pass") {
  for (std::string_view keys : {"\x1e[", "\x1e\x1b[5~"}) {
    EscapeKeys e;
    auto f = feed(e, keys);
    CHECK(f.to_session.empty());
    REQUIRE(f.commands.size() == 1);
    CHECK(f.commands[0] == LocalCommand::pager);
  }
  EscapeKeys e;
  CHECK(feed(e, "\x1e\x1b[").commands.empty());
  auto f = feed(e, "5~x");
  CHECK(f.to_session == "x");
  REQUIRE(f.commands.size() == 1);
  CHECK(f.commands[0] == LocalCommand::pager);
  // Another sequence after the escape goes through as typed.
  f = feed(e, "\x1e\x1b[A");
  CHECK(f.to_session == "\x1b[A");
  CHECK(f.commands.empty());
}

TEST_CASE("Ctrl-^ Ctrl-Z suspends, as in mosh; a Ctrl-Z alone reaches the session") {
  EscapeKeys e;
  auto f = feed(e, "\x1e\x1a");
  CHECK(f.to_session.empty());
  CHECK(f.commands == std::vector<LocalCommand>{LocalCommand::suspend});
  f = feed(e, "\x1a");
  CHECK(f.to_session == "\x1a");
  CHECK(f.commands.empty());
}
