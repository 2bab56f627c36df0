#include "protocol/ring.h"

#include <doctest/doctest.h>

#include <memory>

using namespace roam;

TEST_CASE("a ring keeps order across growth and wrap-around") {
  Ring<int> r;
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < round % 37; ++i) r.push_back(next_in++);
    for (int i = 0; i < round % 23 && !r.empty(); ++i) {
      REQUIRE(r.front() == next_out++);
      r.pop_front();
    }
    for (size_t i = 0; i < r.size(); ++i) REQUIRE(r[i] == next_out + static_cast<int>(i));
  }
}

TEST_CASE("pop_front releases what the slot held; a moved-from ring is empty") {
  Ring<std::unique_ptr<int>> r;
  auto p = std::make_shared<int>(1);
  Ring<std::shared_ptr<int>> shared;
  shared.push_back(p);
  CHECK(p.use_count() == 2);
  shared.pop_front();
  CHECK(p.use_count() == 1);
  r.push_back(std::make_unique<int>(5));
  Ring<std::unique_ptr<int>> moved(std::move(r));
  CHECK(moved.size() == 1);
  CHECK(r.empty());  // NOLINT: checking the moved-from state on purpose
}
