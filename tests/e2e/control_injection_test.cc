// 8-bit C1 controls smuggled into strings the client writes to the local
// terminal (the window title, the icon name), by a program in the session or
// by a hostile server: a terminal that honours 8-bit controls would see the
// OSC end early and then obey what follows, answering a device status
// report (DSR) into the session as if the user had typed it.
#include <doctest/doctest.h>

#include "protocol/host_state.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/scripted_server.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

// Where `bytes` holds a C1 control, raw (a byte 0x80-0x9f that is not part
// of a well-formed UTF-8 character) or as UTF-8 (U+0080-U+009F); npos if
// nowhere.
size_t c1_at(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    const size_t more = b >= 0xf0 && b < 0xf8 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b < 0xe0 ? 1 : 0;
    bool whole = more > 0 && i + more < bytes.size();
    for (size_t k = 1; whole && k <= more; ++k) whole = (static_cast<unsigned char>(bytes[i + k]) & 0xc0) == 0x80;
    if (!whole) {
      if (b < 0xa0) return i;
      ++i;
      continue;
    }
    if (b == 0xc2 && static_cast<unsigned char>(bytes[i + 1]) < 0xa0) return i;
    i += more + 1;
  }
  return std::string_view::npos;
}

}  // namespace

TEST_CASE("c1_at finds raw and encoded C1 but not the continuation bytes of other characters") {
  CHECK(c1_at("plain \x1b]2;title\a") == std::string_view::npos);
  CHECK(c1_at("\xe2\x82\xac \xc3\xa9") == std::string_view::npos);  // euro sign, e acute
  CHECK(c1_at("ab\x9b" "6n") == 2);
  CHECK(c1_at("a\xc2\x9b") == 1);
  CHECK(c1_at("\xe2\x82") == 1);  // a cut character: its continuation byte stands alone
}

TEST_CASE("8-bit C1 in a title reaches the local terminal as neither raw nor encoded C1, and injects no DSR answer") {
  Sandbox sb;
  auto client = attach_client(sb, "inject", 80, 24);
  REQUIRE(client->wait_for_text("rdy>"));
  // ST ends the OSC early, CSI 6n asks for a report, CSI 2J clears, OSC
  // starts another string; then whatever the terminal answers is shown.
  client->type(
      "stty -icanon -echo min 0 time 30; printf 'X\\033]2;T1\\234\\2336n\\2332J\\2350;inner\\007'; cat -v; "
      "stty sane; echo read-$((1+1))done\r");
  REQUIRE(client->wait_for([](const TerminalDriver& t) { return contains(t.output(), "inner"); }));
  // What a terminal honouring 8-bit controls would do with the client's
  // output: answer the DSR into the session.
  const std::string& out = client->output();
  if (contains(out, "\x9b" "6n") || contains(out, "\xc2\x9b" "6n")) client->type("\x1b[5;1R");
  REQUIRE(client->wait_for_text("read-2done"));
  const std::string screen = client->settled_text();
  CHECK_MESSAGE(!contains(screen, "^["), screen);
  CHECK(contains(screen, "X"));
  const size_t at = c1_at(client->output());
  CHECK_MESSAGE(at == std::string_view::npos, "C1 at byte ", at, " of the client's output");
  // The title still arrives, only its controls gone.
  CHECK(contains(client->output(), "\x1b]2;T1"));
  CHECK(contains(client->output(), "0;inner\a"));
}

TEST_CASE("a hostile server's title and icon name with raw and encoded C1 reach the local terminal without them") {
  ScriptedServer server;
  auto client = connect_client(server.line(), server.port());
  REQUIRE(wait_until([&] { return server.pump(std::chrono::milliseconds(50)); }, 20s));
  // Sections 5 (title) and 6 (icon name) written by hand: the server's own
  // Screen would have filtered them.
  const std::string title = "T1\x9c\x9b" "6n\x9b" "2J\x9d" "0;inner\xc2\x9b" "6n\x1b[6n";
  const std::string icon = "I1\x9c\x90" "dcs\xc2\x9c";
  std::vector<uint8_t> diff{1};
  for (const auto& [tag, text] : {std::pair{5, title}, std::pair{6, icon}}) {
    diff.push_back(static_cast<uint8_t>(tag));
    diff.push_back(static_cast<uint8_t>(text.size() + 1));
    diff.push_back(static_cast<uint8_t>(text.size()));
    diff.insert(diff.end(), text.begin(), text.end());
  }
  diff.push_back(0);
  roam::Instruction in;
  in.old_num = 0;
  in.new_num = 1;
  in.diff = diff;
  server.send(in);
  REQUIRE(client->wait_for([](const TerminalDriver& t) { return contains(t.output(), "inner"); }));
  client->settled_text();
  CHECK(contains(client->output(), "\x1b]2;T1"));
  CHECK(contains(client->output(), "\x1b]1;I1"));
  const size_t at = c1_at(client->output());
  CHECK_MESSAGE(at == std::string_view::npos, "C1 at byte ", at, " of the client's output");
  CHECK_FALSE(contains(client->output(), "\x1b[6n"));
}
