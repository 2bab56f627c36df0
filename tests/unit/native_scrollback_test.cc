#include "client/native_scrollback.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/rows.h"

using roam::Cell;
using roam::HistoryReply;
using roam::Row;
using roam::client::HistoryCache;
using roam::client::NativeScrollback;

namespace {

using roam::test::text_row;
using roam::test::text;

// A server that answers every request at once from lines "L<n>".
struct Server {
  std::vector<std::pair<uint64_t, std::pair<uint64_t, uint64_t>>> asked;
  HistoryCache cache{100000, [this](uint64_t from, uint64_t to, bool) {
                       asked.push_back({asked.size(), {from, to}});
                       return asked.size() - 1;
                     }};
  size_t answered = 0;
  void answer() {
    for (; answered < asked.size(); ++answered) {
      HistoryReply r;
      r.request = asked[answered].first;
      r.first = asked[answered].second.first;
      for (uint64_t n = r.first; n < asked[answered].second.second; ++n) r.rows.push_back(text_row("L" + std::to_string(n)));
      r.complete = true;
      cache.take(r);
    }
  }
};

std::vector<std::string> texts(const std::vector<Row>& rows) {
  std::vector<std::string> out;
  for (const Row& r : rows) out.push_back(text(r));
  return out;
}

}  // namespace

TEST_CASE("lines go out in order, once, as the server sends them") {
  Server s;
  NativeScrollback native(1000);
  std::vector<Row> out;
  native.update(0, 0, 0, 80, s.cache, out);
  CHECK(out.empty());
  native.update(0, 3, 10, 80, s.cache, out);
  CHECK(out.empty());  // asked for, not here yet
  s.answer();
  native.update(0, 5, 20, 80, s.cache, out);
  s.answer();
  native.update(0, 5, 30, 80, s.cache, out);
  CHECK(texts(out) == std::vector<std::string>{"L0", "L1", "L2", "L3", "L4"});
  CHECK(native.written() == 5);
}

TEST_CASE("attaching to a long history starts at its newest lines, after a marker") {
  Server s;
  NativeScrollback native(10);
  std::vector<Row> out;
  native.update(0, 100, 0, 80, s.cache, out);
  s.answer();
  native.update(0, 100, 1, 80, s.cache, out);
  REQUIRE(out.size() == 11);
  CHECK(text(out[0]).find("90 earlier lines") != std::string::npos);
  CHECK(text(out[1]) == "L90");
  CHECK(text(out[10]) == "L99");
}

TEST_CASE("a flood is skipped once it pauses, with one marker") {
  Server s;
  NativeScrollback native(10);
  std::vector<Row> out;
  native.update(0, 0, 0, 80, s.cache, out);
  native.update(0, 500, 100, 80, s.cache, out);
  native.update(0, 1500, 200, 80, s.cache, out);
  CHECK(out.empty());
  REQUIRE(native.wake_at());
  CHECK(*native.wake_at() == 200 + NativeScrollback::quiet_ms);
  native.update(0, 1500, 200 + NativeScrollback::quiet_ms, 80, s.cache, out);
  s.answer();
  native.update(0, 1500, 400, 80, s.cache, out);
  REQUIRE(out.size() == 11);
  CHECK(text(out[0]).find("1490 lines skipped") != std::string::npos);
  CHECK(text(out[1]) == "L1490");
  CHECK(text(out[10]) == "L1499");
}

TEST_CASE("rows wider than the terminal wrap; a wide character moves to the next piece") {
  Row r = text_row("abcdefg");
  r.cells[3] = Cell{0x4e00, {}, {}, 0, 2};
  r.cells[4] = Cell{Cell::wide_tail, {}, {}, 0, 1};
  r.cells.resize(20);  // trailing blanks are not a piece
  std::vector<Row> out;
  roam::client::append_wrapped(r, 4, out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].cells.size() == 3);
  CHECK(out[1].cells[0].ch == 0x4e00);
  CHECK(out[1].cells.size() == 4);
  CHECK(out[1].cells[2].ch == 'f');
}
