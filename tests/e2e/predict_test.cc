// Predictive local echo end to end: the real client and daemon with the
// impairment relay between them; what the client's terminal shows (text and
// underline) read through libvterm.
#include <doctest/doctest.h>

#include <chrono>

#include "tests/e2e/harness.h"
#include "tests/e2e/relay_process.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A shell session behind a relay adding `one_way_ms` each way, and a client
// (with `predict` as its --predict) talking to the relay.
struct Link {
  Sandbox sb;
  std::string name;
  std::unique_ptr<RelayProcess> relay;
  std::unique_ptr<TerminalDriver> client;

  Link(const std::string& session, int one_way_ms, const std::string& predict) : name(session) {
    const auto c = sb.attach_line(session, {"/bin/sh"}, {{"PS1", "$ "}});
    REQUIRE(c.has_value());
    relay = std::make_unique<RelayProcess>(sb.dir(), c->port,
                                           std::vector<std::string>{"--delay", std::to_string(one_way_ms)});
    client = connect_client(*c, relay->port(), {"--predict=" + predict});
  }

  // Runs a command and waits for its output and the next prompt: the
  // client learns the round-trip time and that this prompt echoes.
  void warm_up(const std::string& word) {
    client->type("echo " + word + "\r");
    REQUIRE(client->wait_for([&](const TerminalDriver& t) {
      return t.contains("\n" + word + "\n$") && t.cursor().first == 2;
    }));
  }

  bool at_prompt() {
    return client->wait_for([](const TerminalDriver& t) { return t.row(t.cursor().second) == "$" && t.cursor().first == 2; });
  }
  bool any_underlined(int y) const {
    for (int x = 0; x < client->cols(); ++x)
      if (client->underlined(x, y)) return true;
    return false;
  }
  // Every character of row y in [from, to) is underlined (a typed space
  // over a blank is not, as in mosh: it would only underline nothing).
  bool all_underlined(int y, int from, int to) const {
    const std::string text = client->row(y);
    for (int x = from; x < to; ++x)
      if (x < static_cast<int>(text.size()) && text[x] != ' ' && !client->underlined(x, y)) return false;
    return true;
  }
  // The session's own screen, as the server holds it.
  std::string server_screen() { return sb.roam({"history", name, "--lines", "24"}).out; }
};

}  // namespace

TEST_CASE("at 300 ms round-trip time typed text shows at once, underlined, until the server confirms it") {
  Link l("predict-slow", 150, "adaptive");
  REQUIRE(l.at_prompt());
  l.warm_up("one");
  l.warm_up("two");
  const int y = l.client->cursor().second;

  const auto t0 = Clock::now();
  for (char c : std::string_view("echo abc")) {
    l.client->type(std::string(1, c));
    l.client->pump(10ms);
  }
  // Shown and underlined before the last key's echo could be back (one RTT
  // after it was typed, ~80 ms in); usually within a few ms of each key,
  // with room for a loaded machine.
  const auto last_key = Clock::now();
  const bool early = l.client->wait_for(
      [&](const TerminalDriver& t) { return t.row(y) == "$ echo abc" && l.all_underlined(y, 2, 10); },
      std::chrono::duration_cast<std::chrono::milliseconds>(last_key + 290ms - Clock::now()));
  const auto shown_after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  CHECK_MESSAGE(early, "row: '" << l.client->row(y) << "' after " << shown_after.count() << " ms");
  CHECK(Clock::now() - last_key < 300ms);
  CHECK(l.client->cursor() == std::make_pair(10, y));

  // Confirmed: the underline goes and the screen is the server's.
  CHECK(l.client->wait_for(
      [&](const TerminalDriver& t) { return t.row(y) == "$ echo abc" && !l.any_underlined(y); }, 10s));
  const std::string server = l.server_screen();
  CHECK(server.find("$ echo abc") != std::string::npos);
  l.client->type("\r");
  CHECK(l.client->wait_for_text("\nabc\n$"));
}

TEST_CASE("at 300 ms round-trip time nothing typed at a prompt that does not echo is shown") {
  Link l("predict-password", 150, "adaptive");
  REQUIRE(l.at_prompt());
  l.warm_up("one");
  l.client->type("stty -echo; printf 'pw: '; read x; stty echo; echo \"got $x\"\r");
  REQUIRE(l.client->wait_for([](const TerminalDriver& t) { return t.row(t.cursor().second) == "pw:"; }));
  const int y = l.client->cursor().second;
  for (char c : std::string_view("secret")) {
    l.client->type(std::string(1, c));
    const auto until = Clock::now() + 150ms;
    while (Clock::now() < until) {
      l.client->pump(10ms);
      REQUIRE(l.client->row(y) == "pw:");
    }
  }
  l.client->pump(1s);
  CHECK(l.client->row(y) == "pw:");
  l.client->type("\r");
  CHECK(l.client->wait_for_text("got secret\n$"));
}

TEST_CASE("at 0 ms round-trip time nothing is underlined") {
  Link l("predict-fast", 0, "adaptive");
  REQUIRE(l.at_prompt());
  l.warm_up("one");
  const int y = l.client->cursor().second;
  for (char c : std::string_view("echo abc")) {
    l.client->type(std::string(1, c));
    const auto until = Clock::now() + 50ms;
    while (Clock::now() < until) {
      l.client->pump(5ms);
      REQUIRE(!l.any_underlined(y));
    }
  }
  CHECK(l.client->wait_for([&](const TerminalDriver& t) { return t.row(y) == "$ echo abc"; }));
  l.client->pump(300ms);
  CHECK(!l.any_underlined(y));
}

TEST_CASE("--predict=never at 300 ms round-trip time: typed text waits for the server's echo") {
  Link l("predict-never", 150, "never");
  REQUIRE(l.at_prompt());
  l.warm_up("one");
  l.warm_up("two");
  const int y = l.client->cursor().second;
  const auto t0 = Clock::now();
  l.client->type("e");
  // Nothing before the relay's 300 ms could have brought the echo back.
  while (Clock::now() < t0 + 250ms) {
    l.client->pump(10ms);
    REQUIRE(l.client->row(y) == "$");
  }
  CHECK(l.client->wait_for([&](const TerminalDriver& t) { return t.row(y) == "$ e"; }));
  CHECK(!l.any_underlined(y));
}
