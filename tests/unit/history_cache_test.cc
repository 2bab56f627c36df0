#include "client/history_cache.h"

#include <doctest/doctest.h>

#include <vector>

using roam::HistoryReply;
using roam::Row;
using roam::client::HistoryCache;

namespace {

struct Asked {
  uint64_t id, from, to;
};

struct Fixture {
  std::vector<Asked> asked;
  HistoryCache cache{1000, [this](uint64_t from, uint64_t to, bool) {
                       asked.push_back({asked.size() + 10, from, to});
                       return asked.back().id;
                     }};

  // The server's answer to request `a`: lines [from, to), or `complete`
  // early when the server holds no more.
  HistoryReply answer(const Asked& a, uint64_t from, uint64_t to, bool complete) {
    HistoryReply r;
    r.request = a.id;
    r.first = from;
    for (uint64_t n = from; n < to; ++n) {
      Row row;
      row.cells.resize(1);
      row.cells[0].ch = static_cast<uint32_t>('a' + n % 26);
      r.rows.push_back(row);
    }
    r.complete = complete;
    return r;
  }
};

}  // namespace

TEST_CASE("what is held or already asked for is not asked for again") {
  Fixture f;
  f.cache.want(0, 100);
  REQUIRE(f.asked.size() == 1);
  CHECK(f.asked[0].from == 0);
  CHECK(f.asked[0].to == 100);
  f.cache.want(50, 150);  // 50..99 are on their way
  REQUIRE(f.asked.size() == 2);
  CHECK(f.asked[1].from == 100);
  CHECK(f.asked[1].to == 150);
  CHECK(f.cache.waiting(0, 10));

  // The answer in two parts, in order.
  f.cache.take(f.answer(f.asked[0], 0, 60, false));
  CHECK(f.cache.has(0, 60));
  CHECK_FALSE(f.cache.has(0, 61));
  CHECK(f.cache.waiting(60, 100));
  CHECK_FALSE(f.cache.waiting(0, 60));
  f.cache.take(f.answer(f.asked[0], 60, 100, true));
  CHECK(f.cache.has(0, 100));
  CHECK(f.cache.find(27)->cells[0].ch == 'b');
  f.cache.want(0, 100);
  CHECK(f.asked.size() == 2);

  // Lines sent unasked (the page around a search's match) are kept too.
  f.cache.take(f.answer({99, 0, 0}, 500, 510, true));
  CHECK(f.cache.has(500, 510));
}

TEST_CASE("long ranges go in bounded requests; a short complete answer ends the wait") {
  Fixture f;
  f.cache.want(0, 1200);
  REQUIRE(f.asked.size() == 3);
  CHECK(f.asked[0].to - f.asked[0].from == HistoryCache::max_request);
  CHECK(f.asked[2].to == 1200);
  // The server no longer holds lines 0..9: they never come, the wait ends,
  // and they are not asked for again.
  f.cache.take(f.answer(f.asked[0], 10, 512, true));
  CHECK_FALSE(f.cache.waiting(0, 512));
  CHECK(f.cache.find(5) == nullptr);
  f.cache.want(0, 20);
  CHECK(f.asked.size() == 3);
  // Nor are lines past what a short last part held.
  f.cache.take(f.answer(f.asked[2], 1024, 1100, true));
  f.cache.want(1000, 1200);
  CHECK(f.asked.size() == 3);
}

TEST_CASE("past its bound the cache forgets the lines farthest from the focus") {
  Fixture f;
  f.cache.focus(5300);
  f.cache.want(4500, 5500);
  for (const Asked& a : f.asked) f.cache.take(f.answer(a, a.from, a.to, true));
  CHECK(f.cache.size() == 1000);
  f.cache.want(5500, 5600);
  f.cache.take(f.answer(f.asked.back(), 5500, 5600, true));
  CHECK(f.cache.size() == 1000);
  // The 100 lines farthest from 5300 went: the oldest ones.
  CHECK(f.cache.find(4599) == nullptr);
  CHECK(f.cache.find(4600) != nullptr);
  CHECK(f.cache.find(5599) != nullptr);
}
