// HistoryStream on real sessions (a program in a real PTY): what
// `roam history` prints, chunk by chunk, with the history limit biting
// before and while the transcript is read.
#include "server/history_stream.h"

#include <doctest/doctest.h>
#include <uv.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace roam::server {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Loop {
  uv_loop_t loop;
  Loop() { REQUIRE(uv_loop_init(&loop) == 0); }
  ~Loop() {
    uv_walk(&loop, [](uv_handle_t* h, void*) { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
};

std::unique_ptr<mux::Session> start(Loop& l, const std::string& script, uint64_t max_lines = 1'000'000) {
  mux::SessionOptions options;
  options.name = "t";
  options.spawn.argv = {"/bin/sh", "-c", script};
  options.history.max_lines = max_lines;
  auto s = mux::Session::create(&l.loop, std::move(options));
  REQUIRE(s.has_value());
  return std::move(*s);
}

// Runs the loop until `done` holds (generous deadline for a loaded machine).
template <class Done>
bool run_until(Loop& l, mux::Session& s, Done done) {
  const auto deadline = Clock::now() + 30s;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    uv_run(&l.loop, UV_RUN_NOWAIT);
    s.reap();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::string transcript(HistoryStream& stream, mux::Session& s, size_t budget, int* chunks = nullptr) {
  std::string out;
  int n = 1;
  while (stream.produce(s, budget, out)) ++n;
  if (chunks) *chunks = n;
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> numbers(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i <= to; ++i) v.push_back(std::to_string(i));
  return v;
}

Request history_request() {
  Request r(Request::Kind::history);
  r.name = "t";
  return r;
}

}  // namespace

TEST_CASE("a transcript holds every line, history then screen, in order, whatever the budget") {
  Loop l;
  auto s = start(l, "seq 1 300");
  REQUIRE(run_until(l, *s, [&] { return s->ended(); }));
  HistoryStream whole(*s, history_request());
  const std::string all = transcript(whole, *s, 1 << 20);
  CHECK(lines_of(all) == numbers(1, 300));
  // Attack: the smallest budget still moves on and joins to the same text.
  HistoryStream tiny(*s, history_request());
  int chunks = 0;
  CHECK(transcript(tiny, *s, 1, &chunks) == all);
  CHECK(chunks > 1);
}

TEST_CASE("--lines N gives the newest N lines, --grep the matching ones") {
  Loop l;
  auto s = start(l, "seq 1 300");
  REQUIRE(run_until(l, *s, [&] { return s->ended(); }));
  Request last = history_request();
  last.lines = 5;
  HistoryStream newest(*s, last);
  CHECK(lines_of(transcript(newest, *s, 4096)) == numbers(296, 300));
  Request grep = history_request();
  grep.grep = "77";
  HistoryStream matches(*s, grep);
  CHECK(lines_of(transcript(matches, *s, 4096)) == std::vector<std::string>{"77", "177", "277"});
}

TEST_CASE("attack: past the history limit, the first line says exactly how many older lines were dropped") {
  Loop l;
  auto s = start(l, "seq 1 300", 100);
  REQUIRE(run_until(l, *s, [&] { return s->ended(); }));
  const uint64_t dropped = s->history().begin();
  REQUIRE(dropped > 0);
  HistoryStream stream(*s, history_request());
  const auto lines = lines_of(transcript(stream, *s, 4096));
  REQUIRE(!lines.empty());
  CHECK(lines[0] == fmt::format("[roam: {} older lines dropped]", dropped));
  CHECK(std::vector<std::string>(lines.begin() + 1, lines.end()) == numbers(static_cast<int>(dropped) + 1, 300));
}

TEST_CASE("attack: lines dropped while the transcript is read are announced where they were") {
  Loop l;
  // Two floods, the program waiting for a key between them; the history
  // holds more than one read's worth (512 rows) of the first.
  auto s = start(l, "seq 1 1500; read x; seq 1501 6500; exec sleep 100", 1000);
  REQUIRE(run_until(l, *s, [&] { return s->history().end() >= 1477; }));
  HistoryStream stream(*s, history_request());
  std::string out;
  REQUIRE(stream.produce(*s, 64, out));  // the first note and one read
  s->input("\n");
  REQUIRE(run_until(l, *s, [&] { return s->history().end() >= 6400; }));
  while (stream.produce(*s, 4096, out)) {
  }
  const auto lines = lines_of(out);
  const auto note = std::find_if(lines.begin(), lines.end(), [](const std::string& x) {
    return x.find("lines dropped while this was read") != std::string::npos;
  });
  REQUIRE_MESSAGE(note != lines.end(), out);
  // Numbers climb by one except across the note, which says how many it
  // stands for; the transcript ends where the screen was when it was asked.
  auto number = [](const std::string& x) { return x.starts_with("[roam:") ? -1 : std::stoi(x); };
  for (auto it = lines.begin() + 1; it != lines.end(); ++it) {
    if (it == note || it - 1 == note || number(*(it - 1)) < 0) continue;
    CHECK(number(*it) == number(*(it - 1)) + 1);
  }
  REQUIRE(note != lines.begin());
  REQUIRE(note + 1 != lines.end());
  const int skipped = number(*(note + 1)) - number(*(note - 1)) - 1;
  CHECK(*note == fmt::format("[roam: {} lines dropped while this was read]", skipped));
  CHECK(lines.back() == "1500");
}

}  // namespace roam::server
