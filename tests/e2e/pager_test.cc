// The history pager (Ctrl-^ [) end to end: the real client and daemon, the
// client's screen read back through libvterm, over loopback and through the
// impairment relay.
#include <doctest/doctest.h>

#include <fstream>

#include "tests/e2e/harness.h"
#include "tests/e2e/relay_process.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

const std::vector<std::pair<std::string, std::string>> shell_env = {{"PS1", "rdy>"}, {"ENV", ""}};

std::unique_ptr<TerminalDriver> attach(Sandbox& sb, const std::string& name) {
  auto env = shell_env;
  env.emplace_back("ROAM_RUNTIME_DIR", sb.runtime());
  return std::make_unique<TerminalDriver>(std::vector<std::string>{roam_bin(), "attach", name, "--", "/bin/sh"}, 80,
                                          24, env);
}

// The number in a row "L01234", or -1.
int number(const std::string& row) {
  if (row.size() < 6 || row[0] != 'L') return -1;
  return std::stoi(row.substr(1, 5));
}

// The pager shows lines first, first + 1... on rows [from, to) of the view.
bool shows_from(const TerminalDriver& t, int first, int from = 0, int to = 23) {
  for (int y = from; y < to; ++y)
    if (number(t.row(y)) != first + (y - from)) return false;
  return true;
}

bool status_has(const TerminalDriver& t, std::string_view text) {
  return t.row(t.rows() - 1).find(text) != std::string::npos;
}

void open_pager(TerminalDriver& t) {
  t.type("\x1e[");
  REQUIRE(t.wait_for([](const TerminalDriver& d) { return status_has(d, " of ") && status_has(d, "q quit"); }));
}

// Pages through "L00001".."L05000" printed by `seq`: the view is 23 rows
// over a status line; the last page ends with the prompt.
void page_around(TerminalDriver& t) {
  t.type("g");
  REQUIRE(t.wait_for([](const TerminalDriver& d) { return shows_from(d, 1); }));
  t.type("G");
  REQUIRE(t.wait_for([](const TerminalDriver& d) { return shows_from(d, 4979, 0, 22) && d.row(22) == "rdy>"; }));
  // PgUp, PgUp, PgDn, Ctrl-U, k (the cursor moves first), Ctrl-D, b, f, space.
  const std::pair<std::string, int> steps[] = {
      {"\x1b[5~", 4956}, {"\x1b[5~", 4933}, {"\x1b[6~", 4956}, {"\x15", 4945},
      {"\x04", 4956},    {"b", 4933},       {"f", 4956},       {" ", 4979},
  };
  for (const auto& [key, first] : steps) {
    t.type(key);
    INFO("after ", key, " the view should start at L", first);
    CHECK(t.wait_for([&](const TerminalDriver& d) { return shows_from(d, first, 0, first == 4979 ? 22 : 23); }, 20s));
  }
}

}  // namespace

TEST_CASE("the pager shows the whole history, pages through it, and gives the live screen back") {
  Sandbox sb;
  auto t = attach(sb, "pg");
  REQUIRE(t->wait_for_text("rdy>"));
  // Output that comes while the pager is open, once the test says so.
  const std::string go = sb.dir() + "/go";
  t->type("(while [ ! -e " + go + " ]; do sleep 0.05; done; seq -f 'N%03g' 1 40) &\r");
  t->type("clear; seq -f 'L%05g' 1 5000\r");
  REQUIRE(t->wait_for_text("L05000\nrdy>"));
  t->settled_text();

  open_pager(*t);
  // It opens at the bottom, on the screen as it was.
  CHECK(t->wait_for([](const TerminalDriver& d) { return shows_from(d, 4979, 0, 22); }));
  CHECK(status_has(*t, "line 5001 of 5001"));
  page_around(*t);

  // The session runs on; its output does not move the view.
  t->type("\x1b[5~");
  REQUIRE(t->wait_for([](const TerminalDriver& d) { return shows_from(d, 4956); }));
  std::ofstream(go).put('\n');
  REQUIRE(wait_until([&] { return sb.roam({"history", "pg", "--lines", "2"}).out.find("N040") != std::string::npos; }));
  t->pump(300ms);
  CHECK(shows_from(*t, 4956));
  // What reached the history meanwhile is there without closing the pager.
  t->type("G");
  CHECK(t->wait_for([](const TerminalDriver& d) { return d.contains("N039\nN040") && status_has(d, " of "); }));

  t->type("q");
  CHECK(t->wait_for([](const TerminalDriver& d) { return d.contains("N039\nN040") && !status_has(d, " of "); }));
}

TEST_CASE("search finds a line deep in the history, highlights it, wraps, and says when nothing matches") {
  Sandbox sb;
  auto t = attach(sb, "find");
  REQUIRE(t->wait_for_text("rdy>"));
  // The needle is printed only on line 42 (the command line spells it apart).
  t->type("seq -f 'L%05g' 1 5000 | sed \"s/^L00042\\$/L00042 nee\"\"dle-xyz/\"\r");
  REQUIRE(t->wait_for_text("L05000\nrdy>"));
  t->settled_text();
  open_pager(*t);

  t->type("?needle-xyz\r");
  int y = -1;
  REQUIRE(t->wait_for([&](const TerminalDriver& d) {
    for (y = 0; y < 23; ++y)
      if (d.row(y) == "L00042 needle-xyz") return true;
    return false;
  }));
  // The current line is the match, and the needle is highlighted.
  CHECK(t->cursor().second == y);
  CHECK(t->reverse(7, y));
  CHECK(t->reverse(16, y));
  CHECK(!t->reverse(0, y));
  CHECK(status_has(*t, "line 43 of"));

  // The only match: n goes round the ends and comes back to it.
  t->type("n");
  CHECK(t->wait_for([](const TerminalDriver& d) { return status_has(d, "search wrapped around"); }));
  CHECK(t->row(t->cursor().second) == "L00042 needle-xyz");
  t->type("/no-such-thing\r");
  CHECK(t->wait_for([](const TerminalDriver& d) { return status_has(d, "not found: no-such-thing"); }));

  // y copies the current line to the local clipboard (OSC 52).
  t->type("y");
  CHECK(t->wait_for([](const TerminalDriver& d) { return status_has(d, "copied 1 line"); }));
  const std::string copied = "\x1b]52;c;TDAwMDQyIG5lZWRsZS14eXo=\a";  // "L00042 needle-xyz"
  const size_t osc = t->output().find("\x1b]52;");
  REQUIRE(osc != std::string::npos);
  CHECK(t->output().substr(osc, copied.size()) == copied);
  t->type("\x1b");
  CHECK(t->wait_for([](const TerminalDriver& d) { return d.contains("L05000\nrdy>") && !status_has(d, " of "); }));
}

TEST_CASE("a forward search from the last line wraps to the match at once, marked apart from the other matches") {
  Sandbox sb;
  auto t = attach(sb, "wrap");
  REQUIRE(t->wait_for_text("rdy>"));
  // The needle on lines 42 and 44 only.
  t->type("seq -f 'L%05g' 1 5000 | sed \"s/^L0004[24]\\$/& nee\"\"dle-xyz/\"\r");
  REQUIRE(t->wait_for_text("L05000\nrdy>"));
  t->settled_text();
  open_pager(*t);
  t->type("G/needle-xyz\r");
  int y = -1;
  REQUIRE(t->wait_for([&](const TerminalDriver& d) {
    for (y = 0; y < 23; ++y)
      if (d.row(y) == "L00042 needle-xyz") return status_has(d, "line 43 of");
    return false;
  }, 20s));
  CHECK(status_has(*t, "search wrapped around"));
  CHECK(t->cursor().second == y);
  // The current match is reversed and underlined; the other one reversed only.
  REQUIRE(t->row(y + 2) == "L00044 needle-xyz");
  CHECK(t->reverse(7, y));
  CHECK(t->underlined(7, y));
  CHECK(t->reverse(7, y + 2));
  CHECK_FALSE(t->underlined(7, y + 2));
  t->type("n");
  CHECK(t->wait_for([](const TerminalDriver& d) { return status_has(d, "line 45 of"); }));
  CHECK(t->underlined(7, t->cursor().second));
  CHECK_FALSE(t->underlined(7, t->cursor().second - 2));
}

TEST_CASE("the pager works the same after detach and re-attach") {
  Sandbox sb;
  {
    auto t = attach(sb, "again");
    REQUIRE(t->wait_for_text("rdy>"));
    t->type("clear; seq -f 'L%05g' 1 5000\r");
    REQUIRE(t->wait_for_text("L05000\nrdy>"));
    open_pager(*t);
    page_around(*t);
    t->type("q\x1e" "d");
    REQUIRE(t->wait_for_text("[detached from again]"));
    CHECK(t->wait_exit() == 0);
  }
  auto t = attach(sb, "again");
  REQUIRE(t->wait_for_text("L05000\nrdy>"));
  open_pager(*t);
  page_around(*t);
}

TEST_CASE("at 300 ms RTT and 10% loss the pages are exact, and pages seen once cost no request") {
  Sandbox sb;
  const auto c = sb.attach_line("far", {"/bin/sh"});
  REQUIRE(c.has_value());
  RelayProcess relay(sb.dir(), c->port, {"--delay", "150", "--loss", "0.1", "--seed", "11"});
  // Without native scrollback: every history request is the pager's.
  auto client = connect_client(*c, relay.port(), {"--no-native-scrollback"});
  TerminalDriver& t = *client;
  REQUIRE(t.wait_for_text("rdy>"));
  t.type("clear; seq -f 'L%05g' 1 5000\r");
  REQUIRE(t.wait_for_text("L05000\nrdy>", 60s));
  open_pager(t);
  page_around(t);

  // Up through pages not seen yet, then down over them again.
  int first = 4979;
  for (int i = 0; i < 6; ++i) {
    t.type("\x1b[5~");
    first -= 23;
    CHECK(t.wait_for([&](const TerminalDriver& d) { return shows_from(d, first); }, 30s));
  }
  t.pump(1s);  // the prefetch of the last page settles
  const long long requests = sb.info_numbers()["history_line_requests"];
  CHECK(requests > 0);
  for (int i = 0; i < 6; ++i) {
    t.type("\x1b[6~");
    first += 23;
    // Cached: drawn without waiting for the network.
    CHECK(t.wait_for([&](const TerminalDriver& d) { return shows_from(d, first, 0, first == 4979 ? 22 : 23); }, 2s));
  }
  CHECK(sb.info_numbers()["history_line_requests"] == requests);

  // After the client's address changes, the pager still fetches what it needs.
  CHECK(relay.ctl("rebind").find("ok") != std::string::npos);
  t.type("g");
  CHECK(t.wait_for([](const TerminalDriver& d) { return shows_from(d, 1); }, 30s));
  t.type("q");
  CHECK(t.wait_for([](const TerminalDriver& d) { return d.contains("L05000\nrdy>") && !status_has(d, " of "); }));
}
