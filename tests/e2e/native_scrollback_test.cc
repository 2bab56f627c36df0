// Native scrollback end to end: rows leaving the session's primary screen
// land in the local terminal's own scrollback (collected by the test's
// libvterm), in order, once each.
#include <doctest/doctest.h>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<TerminalDriver> attach(Sandbox& sb, const std::string& name, std::vector<std::string> options = {}) {
  std::vector<std::string> argv{roam_bin()};
  argv.insert(argv.end(), options.begin(), options.end());
  for (std::string a : {"attach", "--", "/bin/sh"}) argv.push_back(a);
  argv.insert(argv.begin() + 2 + static_cast<std::ptrdiff_t>(options.size()), name);
  return std::make_unique<TerminalDriver>(
      argv, 80, 24,
      std::vector<std::pair<std::string, std::string>>{{"ROAM_RUNTIME_DIR", sb.runtime()}, {"PS1", "rdy>"}, {"ENV", ""}});
}

// The numbered lines "L00001"... in the scrollback, in the order they came.
std::vector<int> numbered(const std::vector<std::string>& lines) {
  std::vector<int> out;
  for (const std::string& l : lines)
    if (l.size() == 6 && l[0] == 'L') out.push_back(std::stoi(l.substr(1)));
  return out;
}

// The scrollback holds L(first)...L(last) in order, once each, and nothing
// else numbered.
bool holds_exactly(const TerminalDriver& t, int first, int last) {
  const std::vector<int> got = numbered(t.scrollback());
  if (got.size() != static_cast<size_t>(last - first + 1)) return false;
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != first + static_cast<int>(i)) return false;
  return true;
}

}  // namespace

TEST_CASE("2,000 printed lines are all in the terminal's scrollback, in order, once") {
  Sandbox sb;
  auto t = attach(sb, "sb", {"--native-scrollback-lines", "3000"});
  REQUIRE(t->wait_for_text("rdy>"));
  t->type("seq -f 'L%05g' 1 2000\r");
  REQUIRE(t->wait_for_text("L02000\nrdy>"));
  // The screen shows L01978..L02000 and the prompt; everything before is scrollback.
  CHECK(t->wait_for([](const TerminalDriver& d) { return holds_exactly(d, 1, 1977); }, 30s));
  INFO("scrollback has ", t->scrollback().size(), " rows");
  CHECK(t->row(0) == "L01978");
  // More output later joins the end, still once each.
  t->type("seq -f 'L%05g' 2001 2100\r");
  REQUIRE(t->wait_for_text("L02100\nrdy>"));
  CHECK(t->wait_for([](const TerminalDriver& d) {
    const std::vector<int> got = numbered(d.scrollback());
    return got.size() == 2077 && got.back() == 2077;
  }, 30s));
  const std::vector<int> got = numbered(t->scrollback());
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == static_cast<int>(i) + 1);
}

TEST_CASE("after a flood, the newest lines come after one marker saying how many were skipped") {
  Sandbox sb;
  auto t = attach(sb, "flood");
  REQUIRE(t->wait_for_text("rdy>"));
  t->type("seq -f 'L%05g' 1 60000\r");
  REQUIRE(t->wait_for_text("L60000\nrdy>", 120s));
  // The lines before the screen (L59978 on) are in the scrollback.
  REQUIRE(t->wait_for([](const TerminalDriver& d) {
    const std::vector<int> got = numbered(d.scrollback());
    return !got.empty() && got.back() == 59977;
  }, 30s));
  const std::vector<std::string>& sb_rows = t->scrollback();
  int markers = 0;
  for (const std::string& row : sb_rows) markers += row.find("lines skipped here; the pager has them all") != std::string::npos;
  CHECK(markers >= 1);
  const std::vector<int> got = numbered(sb_rows);
  // At most the newest 1000 after the last gap, contiguous up to the screen.
  size_t tail = 1;
  while (tail < got.size() && got[got.size() - 1 - tail] == got[got.size() - tail] - 1) ++tail;
  CHECK(tail <= 1000);
  CHECK(got.size() < 60000);
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i] > got[i - 1]);
}

TEST_CASE("--no-native-scrollback copies nothing; a program on the alternate screen adds nothing") {
  Sandbox sb;
  SUBCASE("off") {
    auto t = attach(sb, "off", {"--no-native-scrollback"});
    REQUIRE(t->wait_for_text("rdy>"));
    t->type("seq -f 'L%05g' 1 300\r");
    REQUIRE(t->wait_for_text("L00300\nrdy>"));
    t->pump(1s);
    CHECK(numbered(t->scrollback()).empty());
  }
  SUBCASE("alternate screen") {
    auto t = attach(sb, "alt");
    REQUIRE(t->wait_for_text("rdy>"));
    t->type("printf '\\033[?1049h'; seq -f 'L%05g' 1 300; sleep 1; printf '\\033[?1049l'; echo alt-done\r");
    REQUIRE(t->wait_for_text("alt-done\nrdy>"));
    t->pump(1s);
    CHECK(numbered(t->scrollback()).empty());
  }
}
