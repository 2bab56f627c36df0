// Resizes against the promise that every line a session printed is kept:
// a client that never speaks must not resize the session at all, and a real
// narrow client re-wraps the screen without cutting a line, in the history
// or on the screen.
#include <doctest/doctest.h>

#include <sstream>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

constexpr int line_count = 20;

// Line i as the program prints it: 158 or 160 columns.
std::string printed_line(int i) { return "L" + std::to_string(i) + "-" + std::string(150, '0') + "-END" + std::to_string(i); }

// A session at 200x30 whose program prints the 20 long lines and then waits.
void start_long_lines(Sandbox& sb, const std::string& name) {
  const Run r = sb.roam({"new", name, "--size", "200x30", "--", "sh", "-c",
                         "for i in $(seq 1 20); do printf \"L%d-%0150d-END%d\\n\" $i 0 $i; done; exec sleep 100000"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// How many lines of `roam history` hold "END", and whether each printed line
// is there whole, once.
struct HistoryCheck {
  int with_end = 0;
  int whole = 0;
};

HistoryCheck check_history(Sandbox& sb, const std::string& name) {
  const Run r = sb.roam({"history", name});
  HistoryCheck c;
  if (r.status != 0) return c;
  const std::vector<std::string> lines = lines_of(r.out);
  for (const std::string& l : lines) c.with_end += l.find("END") != std::string::npos;
  for (int i = 1; i <= line_count; ++i) c.whole += std::count(lines.begin(), lines.end(), printed_line(i)) == 1;
  return c;
}

bool all_printed(Sandbox& sb, const std::string& name) {
  const HistoryCheck c = check_history(sb, name);
  return c.with_end == line_count && c.whole == line_count;
}

// Whether `line` shows on the screen wrapped at its width: consecutive rows
// holding its pieces, in order.
bool shows_wrapped(const TerminalDriver& t, const std::string& line) {
  const auto cols = static_cast<size_t>(t.cols());
  for (int y = 0; y + 1 < t.rows(); ++y) {
    size_t at = 0;
    int k = y;
    while (at < line.size() && k < t.rows() && t.row(k) == line.substr(at, cols)) {
      at += cols;
      ++k;
    }
    if (at >= line.size()) return true;
  }
  return false;
}

bool shows_row(const TerminalDriver& t, const std::string& text) {
  for (int y = 0; y < t.rows(); ++y)
    if (t.row(y) == text) return true;
  return false;
}

}  // namespace

TEST_CASE("attack: a client that never speaks must not cut lines out of history") {
  Sandbox sb;
  start_long_lines(sb, "w1");
  REQUIRE(wait_until([&] { return all_printed(sb, "w1"); }));

  // The bootstrap of a 40-column client that never sends a datagram.
  const Run attached = sb.server({"attach", "w1", "--size", "40x30"});
  REQUIRE_MESSAGE(attached.status == 0, attached.err);
  REQUIRE(parse_connect_line(attached.out));

  const HistoryCheck c = check_history(sb, "w1");
  CHECK(c.with_end == line_count);
  CHECK(c.whole == line_count);
  // Nobody spoke: the session keeps the size it was made with.
  CHECK(sb.roam({"ls"}).out.find("200x30") != std::string::npos);
}

TEST_CASE("attack: a narrower client must not cut lines out of history, and widening joins them again") {
  Sandbox sb;
  start_long_lines(sb, "w2");
  REQUIRE(wait_until([&] { return all_printed(sb, "w2"); }));

  TerminalDriver t({roam_bin(), "attach", "w2"}, 40, 30, {{"ROAM_RUNTIME_DIR", sb.runtime()}});
  // The session takes the client's 40 columns; its long lines re-wrap, and
  // the rows pushed off the top go to history first.
  CHECK(t.wait_for([](const TerminalDriver& d) { return shows_wrapped(d, printed_line(line_count)); }, 30s));
  CHECK(t.wait_for([](const TerminalDriver& d) { return shows_wrapped(d, printed_line(line_count - 1)); }, 30s));
  INFO("40 columns:\n", t.screen_text());
  {
    const HistoryCheck c = check_history(sb, "w2");
    CHECK(c.with_end == line_count);
    CHECK(c.whole == line_count);
  }

  // Wide again: the lines still on the screen are whole rows once more.
  t.resize(200, 30);
  CHECK(t.wait_for([](const TerminalDriver& d) { return shows_row(d, printed_line(line_count)); }, 30s));
  CHECK(t.wait_for([](const TerminalDriver& d) { return shows_row(d, printed_line(line_count - 1)); }, 30s));
  INFO("200 columns:\n", t.screen_text());
  const HistoryCheck c = check_history(sb, "w2");
  CHECK(c.with_end == line_count);
  CHECK(c.whole == line_count);

  t.type("\x1e" "d");
  CHECK(t.wait_exit() == 0);
}
