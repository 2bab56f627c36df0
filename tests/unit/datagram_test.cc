#include "protocol/datagram.h"

#include <doctest/doctest.h>

#include <random>

using namespace roam;
using crypto::Direction;

namespace {

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("a datagram sealed by one end opens at the other with its fields") {
  const auto key = crypto::Key::random();
  DatagramCodec client(key, 0x1122334455667788, Direction::to_server);
  DatagramCodec server(key, 0x1122334455667788, Direction::to_client);
  const auto payload = bytes_of("keystrokes");
  auto sealed = client.seal(1234, 65535, payload);
  REQUIRE(sealed);
  const std::vector<uint8_t> wire(sealed->begin(), sealed->end());
  CHECK(wire.size() == datagram_overhead + payload.size());
  CHECK(peek_conn_id(wire) == 0x1122334455667788);
  auto opened = server.open(wire);
  REQUIRE(opened);
  CHECK(opened->seq == 0);
  CHECK(opened->timestamp == 1234);
  CHECK(opened->timestamp_reply == 65535);
  CHECK(std::vector<uint8_t>(opened->payload.begin(), opened->payload.end()) == payload);

  auto second = client.seal(1, 2, payload);
  REQUIRE(second);
  auto opened2 = server.open(std::vector<uint8_t>(second->begin(), second->end()));
  REQUIRE(opened2);
  CHECK(opened2->seq == 1);

  auto reply = server.seal(5, 1234, payload);
  REQUIRE(reply);
  auto back = client.open(std::vector<uint8_t>(reply->begin(), reply->end()));
  REQUIRE(back);
  CHECK(back->seq == (crypto::Nonce::direction_bit | 0));
}

TEST_CASE("reflected, forged, truncated, oversized and misrouted datagrams are refused") {
  const auto key = crypto::Key::random();
  DatagramCodec client(key, 42, Direction::to_server);
  DatagramCodec server(key, 42, Direction::to_client);
  auto sealed = client.seal(0, 0, bytes_of("hello"));
  REQUIRE(sealed);
  const std::vector<uint8_t> wire(sealed->begin(), sealed->end());

  // Sent back at its sender: it authenticates, but it is in the wrong direction.
  CHECK(client.open(wire).error() == Errc::wrong_direction);

  for (size_t i = 0; i < wire.size(); ++i) {
    auto bad = wire;
    bad[i] ^= 0x01;
    CHECK_FALSE(server.open(bad));
  }
  for (size_t n = 0; n < wire.size(); ++n) CHECK_FALSE(server.open(std::span(wire).first(n)));
  CHECK(server.open(std::vector<uint8_t>(max_datagram_size + 1, 0)).error() == Errc::too_large);

  DatagramCodec other(key, 43, Direction::to_client);
  CHECK_FALSE(other.open(wire));
  DatagramCodec wrong_key(crypto::Key::random(), 42, Direction::to_client);
  CHECK(wrong_key.open(wire).error() == Errc::auth_failed);
  CHECK(server.open(wire));
}

TEST_CASE("payloads are bounded so a datagram never exceeds 1280 bytes") {
  const auto key = crypto::Key::random();
  DatagramCodec client(key, 1, Direction::to_server);
  std::vector<uint8_t> payload(max_datagram_payload, 'x');
  auto sealed = client.seal(0, 0, payload);
  REQUIRE(sealed);
  CHECK(sealed->size() == max_datagram_size);
  payload.push_back('y');
  CHECK(client.seal(0, 0, payload).error() == Errc::too_large);
}

TEST_CASE("connection ids in text form") {
  CHECK(format_conn_id(0x00ab) == "00000000000000ab");
  CHECK(parse_conn_id("00000000000000ab") == 0xab);
  CHECK(parse_conn_id("ffffffffffffffff") == ~uint64_t{0});
  CHECK_FALSE(parse_conn_id("fffffffffffffff"));
  CHECK_FALSE(parse_conn_id("00000000000000AB"));
  CHECK_FALSE(parse_conn_id("+0000000000000ab"));
  CHECK_FALSE(parse_conn_id(""));
}

TEST_CASE("a version notice names a version, and nothing else is taken for one") {
  const auto notice = version_notice(7);
  CHECK(notice.size() == version_notice_size);
  CHECK(peek_conn_id(notice) == 0);
  CHECK(parse_version_notice(notice) == 7);
  auto wrong = notice;
  wrong[9] = 'X';
  CHECK_FALSE(parse_version_notice(wrong));
  CHECK_FALSE(parse_version_notice(std::span<const uint8_t>(notice).first(12)));
  // A sealed datagram is never a notice: its connection id is not 0.
  DatagramCodec client(crypto::Key::random(), 0x1122334455667788, Direction::to_server);
  auto sealed = client.seal(1, 2, std::vector<uint8_t>{});
  REQUIRE(sealed);
  CHECK_FALSE(parse_version_notice(*sealed));
}
