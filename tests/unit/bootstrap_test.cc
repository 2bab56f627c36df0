#include "client/bootstrap.h"

#include <doctest/doctest.h>

#include "protocol/instruction.h"

using namespace roam::client;

TEST_CASE("a CONNECT line is parsed") {
  auto t = parse_connect_line("ROAM CONNECT 60001 00000000000000ab AAECAwQFBgcICQoLDA0ODw\n");
  REQUIRE(t);
  CHECK(t->port == 60001);
  CHECK(t->conn_id == 0xab);
  CHECK(t->key == "AAECAwQFBgcICQoLDA0ODw");
}

TEST_CASE("malformed CONNECT lines are refused") {
  for (std::string_view bad : {"", "ROAM CONNECT", "ROAM CONNECT 60001", "ROAM CONNECT 60001 00000000000000ab",
                               "ROAM CONNECT 0 00000000000000ab AAECAwQFBgcICQoLDA0ODw",
                               "ROAM CONNECT 70000 00000000000000ab AAECAwQFBgcICQoLDA0ODw",
                               "ROAM CONNECT 60001 ab AAECAwQFBgcICQoLDA0ODw",
                               "ROAM CONNECT 60001 00000000000000ab short",
                               "HELLO 60001 00000000000000ab AAECAwQFBgcICQoLDA0ODw"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_connect_line(bad));
  }
}

TEST_CASE("CONNECT lines carry the protocol version and the address, and may say more") {
  auto t = parse_connect_line("ROAM CONNECT 60002 00000000000000ab AAECAwQFBgcICQoLDA0ODw proto=1 addr=10.1.2.3 future=x");
  REQUIRE(t);
  CHECK(t->protocol == 1);
  CHECK(t->addr == "10.1.2.3");
  auto old = parse_connect_line("ROAM CONNECT 60002 00000000000000ab AAECAwQFBgcICQoLDA0ODw");
  REQUIRE(old);
  CHECK(old->protocol == 1);
  CHECK(old->addr.empty());
  CHECK(parse_connect_line("ROAM CONNECT 60002 00000000000000ab AAECAwQFBgcICQoLDA0ODw proto=99")->protocol == 99);
  CHECK_FALSE(parse_connect_line("ROAM CONNECT 60002 00000000000000ab AAECAwQFBgcICQoLDA0ODw proto=x"));
  CHECK(parse_connect_line("ROAM CONNECT 60002 00000000000000ab AAECAwQFBgcICQoLDA0ODw proto=1 pid=4321")->daemon_pid ==
        4321);
  CHECK_FALSE(parse_connect_line("ROAM CONNECT 60002 00000000000000ab AAECAwQFBgcICQoLDA0ODw pid=-3"));
}

TEST_CASE("a CONNECT line of another protocol version is refused with both versions named") {
  auto t = parse_connect_line("ROAM CONNECT 60002 00000000000000ab AAECAwQFBgcICQoLDA0ODw proto=99");
  REQUIRE(t);
  const auto checked = check_protocol(*t, "on box");
  REQUIRE_FALSE(checked);
  CHECK(checked.error() == "the roam-server on box speaks protocol 99, this roam speaks " +
                               std::to_string(roam::protocol_version));
  t->protocol = roam::protocol_version;
  CHECK(check_protocol(*t, "on box"));
}
