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

TEST_CASE("a state holds at most max_key_bytes of keys: pushing and applying more is refused") {
  UserState sent;
  const std::string mib(1 << 20, 'k');
  CHECK(sent.push_keys(mib));
  CHECK(sent.push_keys(mib));
  CHECK(sent.key_bytes() == UserState::max_key_bytes);
  CHECK_FALSE(sent.push_keys("x"));
  CHECK(sent.end() == 2);
  sent.forget_before(1);
  CHECK(sent.key_bytes() == mib.size());
  CHECK(sent.push_keys("x"));

  // A peer that sends more than the bound in one diff is refused.
  UserState big;
  CHECK(big.push_keys(mib));
  Bytes d;
  big.diff_from(UserState{}, d);
  UserState got;
  REQUIRE(got.apply(d).has_value());
  REQUIRE(got.apply(d).has_value());  // the same events again: nothing new, nothing counted twice
  CHECK(got.key_bytes() == mib.size());
  UserState more = big;
  CHECK(more.push_keys(mib));
  CHECK_FALSE(more.push_keys("y"));
  // Built by hand: a diff adding three MiB-long key events.
  Bytes hostile{1, 0, 3};
  for (int i = 0; i < 3; ++i) {
    hostile.insert(hostile.end(), {1, 0x80, 0x80, 0x40});  // kind 1, length 1 MiB
    hostile.insert(hostile.end(), mib.begin(), mib.end());
  }
  UserState victim;
  CHECK_FALSE(victim.apply(hostile).has_value());
}
