#include "client/remote.h"

#include <doctest/doctest.h>

using namespace roam::client;

TEST_CASE("split_command: blanks separate words, quotes keep them") {
  CHECK(split_command("ssh -p 2222") == std::vector<std::string>{"ssh", "-p", "2222"});
  CHECK(split_command("  ssh\t-i  key ") == std::vector<std::string>{"ssh", "-i", "key"});
  CHECK(split_command("ssh -i 'my key' -o \"A B\"") == std::vector<std::string>{"ssh", "-i", "my key", "-o", "A B"});
  CHECK(split_command("a'b c'd") == std::vector<std::string>{"ab cd"});
  CHECK(split_command("''") == std::vector<std::string>{""});
  CHECK(split_command("\"it's\"") == std::vector<std::string>{"it's"});
  CHECK(split_command("").empty());
  CHECK(split_command("   ").empty());
}

TEST_CASE("shell_quote: safe words stay, anything else is single-quoted") {
  CHECK(shell_quote("roam-server") == "roam-server");
  CHECK(shell_quote("/opt/roam/bin/roam-server") == "/opt/roam/bin/roam-server");
  CHECK(shell_quote("80x24") == "80x24");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("$HOME") == "'$HOME'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("a;rm -rf x") == "'a;rm -rf x'");
  CHECK(shell_quote("`id`") == "'`id`'");
  CHECK(shell_quote("line\nbreak") == "'line\nbreak'");
}

TEST_CASE("parse_destination: NAME, HOST:NAME, user@host:NAME and [v6]:NAME") {
  auto d = parse_destination("work");
  CHECK(d.host.empty());
  CHECK(d.name == "work");
  d = parse_destination("box:work");
  CHECK(d.host == "box");
  CHECK(d.name == "work");
  CHECK(d.shown_host() == "box");
  d = parse_destination("me@box:work");
  CHECK(d.host == "me@box");
  CHECK(d.shown_host() == "box");
  d = parse_destination("[2001:db8::1]:work");
  CHECK(d.host == "[2001:db8::1]");
  CHECK(d.name == "work");
  CHECK(d.shown_host() == "2001:db8::1");
  d = parse_destination("me@[::1]:work");
  CHECK(d.host == "me@[::1]");
  CHECK(d.shown_host() == "::1");
  d = parse_destination("box:");
  CHECK(d.host == "box");
  CHECK(d.name.empty());
}
