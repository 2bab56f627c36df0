#include "client/pager_search.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/rows.h"

using roam::Cell;
using roam::HistoryReply;
using roam::Row;
using roam::client::find_in_row;
using roam::client::PagerSearch;

namespace {

using roam::test::text_row;

// History lines [0, 1000) on the "server", where lines 10, 500 and 990
// match; the screen kept locally holds lines 1000..1004, of which 1002 matches.
struct Fixture {
  struct Asked {
    std::string needle;
    uint64_t from, to;
    bool backward;
  };
  std::vector<Asked> asked;
  std::vector<Row> screen;
  std::vector<uint64_t> history_matches{10, 500, 990};
  PagerSearch search{[this](const std::string& needle, uint64_t from, uint64_t to, bool backward, bool) {
                       asked.push_back({needle, from, to, backward});
                       return asked.size() + 100;
                     },
                     0, 1000, &screen};
  Fixture() {
    for (int i = 0; i < 5; ++i) screen.push_back(text_row(i == 2 ? "x needle y" : "plain"));
  }
  // Answers the last request as the server would, at most `limit` matches.
  void answer(size_t limit = 64) {
    const Asked& a = asked.back();
    HistoryReply r;
    r.kind = HistoryReply::Kind::matches;
    r.request = asked.size() + 100;
    std::vector<uint64_t> all;
    if (a.needle != "needle") {
    } else if (a.backward) {
      for (auto it = history_matches.rbegin(); it != history_matches.rend(); ++it)
        if (*it <= a.from && *it < a.to) all.push_back(*it);
    } else {
      for (uint64_t m : history_matches)
        if (m >= a.from && m < a.to) all.push_back(m);
    }
    r.complete = all.size() <= limit;
    if (!r.complete) all.resize(limit);
    r.matches = all;
    search.take(r);
  }
};

}  // namespace

TEST_CASE("matches in a row: columns, wide characters, smart case folding") {
  Row r = text_row("ab Needle needle");
  CHECK(find_in_row(r, U"needle", false) == std::vector<std::pair<int, int>>{{3, 9}, {10, 16}});
  CHECK(find_in_row(r, U"needle", true) == std::vector<std::pair<int, int>>{{10, 16}});
  r.cells[0] = Cell{0x4e00, {}, {}, 0, 2};
  r.cells[1] = Cell{Cell::wide_tail, {}, {}, 0, 1};
  CHECK(find_in_row(r, U"\u4e00 N", true) == std::vector<std::pair<int, int>>{{0, 4}});
  CHECK(find_in_row(r, U"", true).empty());
}

TEST_CASE("forward: the server's history, then the screen, then round from the top") {
  Fixture f;
  f.search.start(U"needle", false, 600);
  REQUIRE(f.asked.size() == 1);
  CHECK(f.asked[0].from == 600);
  CHECK(f.asked[0].to == 1000);
  CHECK_FALSE(f.search.result());
  CHECK(f.search.searching());
  f.answer();
  REQUIRE(f.search.result());
  CHECK(f.search.result()->line == 990);
  CHECK_FALSE(f.search.result()->wrapped);

  // n: settled by the answer already held, then the local screen.
  f.search.start(U"needle", false, 991);
  CHECK(f.asked.size() == 1);
  REQUIRE(f.search.result());
  CHECK(f.search.result()->line == 1002);

  // Past the last match: round from the top, which the server is asked for.
  f.search.start(U"needle", false, 1003);
  REQUIRE(f.asked.size() == 2);
  CHECK(f.asked[1].from == 0);
  f.answer();
  CHECK(f.search.result()->line == 10);
  CHECK(f.search.result()->wrapped);
}

TEST_CASE("backward: the screen first, then the server's history downward") {
  Fixture f;
  f.search.start(U"needle", true, 1004);
  REQUIRE(f.search.result());
  CHECK(f.search.result()->line == 1002);
  CHECK(f.asked.empty());
  f.search.start(U"needle", true, 1001);
  REQUIRE(f.asked.size() == 1);
  CHECK(f.asked[0].backward);
  CHECK(f.asked[0].from == 999);
  f.answer(2);  // an answer cut short: 990 and 500
  CHECK(f.search.result()->line == 990);
  f.search.start(U"needle", true, 989);
  CHECK(f.asked.size() == 1);  // 500 is known
  CHECK(f.search.result()->line == 500);
  f.search.start(U"needle", true, 499);
  REQUIRE(f.asked.size() == 2);  // below what the cut answer settled
  CHECK(f.asked[1].from == 499);
  f.answer();
  CHECK(f.search.result()->line == 10);
}

TEST_CASE("a needle found nowhere says so, after asking once per stretch") {
  Fixture f;
  f.search.start(U"absent", false, 500);
  f.answer();
  f.answer();
  REQUIRE(f.search.result());
  CHECK_FALSE(f.search.result()->line);
  CHECK(f.asked.size() == 2);
}
