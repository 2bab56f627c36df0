#include "protocol/user_state.h"

#include <doctest/doctest.h>

#include <vector>

using roam::UserEvent;
using roam::UserState;
using Bytes = std::vector<uint8_t>;

TEST_CASE("every kind of event crosses intact, history requests numbered as pushed") {
  UserState sent;
  sent.push_keys("ls\r");
  sent.push_resize(120, 40);
  CHECK(sent.push_history_lines(100, 612, true) == 2);
  CHECK(sent.push_history_search("needle \xc3\xa9", 5000, 6000, true, false) == 3);
  sent.push_detach();
  Bytes d;
  sent.diff_from(UserState{}, d);
  UserState got;
  REQUIRE(got.apply(d).has_value());
  REQUIRE(got.end() == 5);
  CHECK(got.at(0).keys == "ls\r");
  CHECK(got.at(1).cols == 120);
  CHECK(got.at(2).kind == UserEvent::Kind::history_lines);
  CHECK(got.at(2).from == 100);
  CHECK(got.at(2).to == 612);
  CHECK(got.at(2).urgent);
  const UserEvent& search = got.at(3);
  CHECK(search.kind == UserEvent::Kind::history_search);
  CHECK(search.keys == "needle \xc3\xa9");
  CHECK(search.from == 5000);
  CHECK(search.to == 6000);
  CHECK(search.backward);
  CHECK_FALSE(search.case_sensitive);
  CHECK(got.at(4).kind == UserEvent::Kind::detach);
  for (uint64_t i = 0; i < 5; ++i) CHECK(got.at(i) == sent.at(i));

  // Every truncation fails cleanly.
  for (size_t n = 0; n < d.size(); ++n) {
    UserState cut;
    CHECK_FALSE(cut.apply({d.data(), n}).has_value());
  }
}

TEST_CASE("a needle is cut to 1024 bytes; bad flags and oversized needles are refused") {
  UserState sent;
  sent.push_history_search(std::string(5000, 'x'), 0, 10, false, true);
  CHECK(sent.at(0).keys.size() == 1024);
  // version, first, count, kind 5, from, to, flags 8 (unknown), needle ""
  UserState got;
  CHECK_FALSE(got.apply(Bytes{1, 0, 1, 5, 0, 10, 8, 0}).has_value());
  // A needle declared longer than the limit.
  CHECK_FALSE(got.apply(Bytes{1, 0, 1, 5, 0, 10, 0, 0x81, 0x08}).has_value());
  CHECK(got.apply(Bytes{1, 0, 1, 5, 0, 10, 3, 1, 'q'}).has_value());
  CHECK(got.at(0).keys == "q");
}
