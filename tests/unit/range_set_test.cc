#include "protocol/range_set.h"

#include <doctest/doctest.h>

#include <random>
#include <set>

using namespace roam;

namespace {

std::vector<Range> all(const RangeSet& s) { return {s.ranges().begin(), s.ranges().end()}; }

}  // namespace

TEST_CASE("ranges merge when they overlap or touch") {
  RangeSet s(10);
  CHECK(s.add(10, 20));
  CHECK(s.add(30, 40));
  CHECK(s.add(20, 25));  // touches: extends
  CHECK(all(s) == std::vector<Range>{{10, 25}, {30, 40}});
  CHECK(s.add(5, 35));  // swallows both
  CHECK(all(s) == std::vector<Range>{{5, 40}});
  CHECK(s.add(0, 0));  // empty: nothing
  CHECK(s.size() == 1);
}

TEST_CASE("remove cuts and splits") {
  RangeSet s(10);
  CHECK(s.add(0, 100));
  s.remove(10, 20);
  CHECK(all(s) == std::vector<Range>{{0, 10}, {20, 100}});
  s.remove(5, 25);
  CHECK(all(s) == std::vector<Range>{{0, 5}, {25, 100}});
  s.remove(0, 1000);
  CHECK(s.empty());
}

TEST_CASE("queries: contains, contiguous_end, remove_below") {
  RangeSet s(10);
  CHECK(s.add(0, 10));
  CHECK(s.add(20, 30));
  CHECK(s.contains(0));
  CHECK_FALSE(s.contains(10));
  CHECK(s.contiguous_end(3) == 10);
  CHECK(s.contiguous_end(15) == 15);
  s.remove_below(25);
  CHECK(all(s) == std::vector<Range>{{25, 30}});
}

TEST_CASE("attack: the bound on ranges refuses an add that needs one more") {
  RangeSet s(3);
  CHECK(s.add(0, 1));
  CHECK(s.add(2, 3));
  CHECK(s.add(4, 5));
  CHECK_FALSE(s.add(6, 7));
  CHECK(s.size() == 3);
  CHECK(s.add(1, 2));  // fills a hole: fewer ranges, allowed
  CHECK(s.size() == 2);
  // add_widening never refuses: it joins the piece to a neighbour.
  RangeSet w(2);
  CHECK(w.add(10, 11));
  CHECK(w.add(20, 21));
  w.add_widening(30, 31);
  CHECK(all(w) == std::vector<Range>{{10, 11}, {20, 31}});
  w.add_widening(0, 1);
  CHECK(all(w) == std::vector<Range>{{0, 11}, {20, 31}});
}

TEST_CASE("random adds and removes agree with a set of numbers") {
  std::mt19937_64 rng(7);
  RangeSet s(1000);
  std::set<uint64_t> model;
  for (int i = 0; i < 20'000; ++i) {
    const uint64_t b = rng() % 500, e = b + rng() % 20;
    if (rng() % 3) {
      REQUIRE(s.add(b, e));
      for (uint64_t v = b; v < e; ++v) model.insert(v);
    } else {
      s.remove(b, e);
      for (uint64_t v = b; v < e; ++v) model.erase(v);
    }
    if (i % 100 == 0) {
      for (uint64_t v = 0; v < 520; ++v) REQUIRE(s.contains(v) == (model.count(v) == 1));
      for (size_t k = 1; k < s.size(); ++k) REQUIRE(s[k - 1].end < s[k].begin);  // disjoint, not touching
    }
  }
}
