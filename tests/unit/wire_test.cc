#include "protocol/wire.h"

#include <doctest/doctest.h>

#include <limits>
#include <random>

using namespace roam;
using namespace roam::wire;

namespace {

struct Message {
  uint8_t a;
  uint16_t b;
  uint32_t c;
  uint64_t d;
  uint64_t v;
  std::string s;
  bool operator==(const Message&) const = default;
};

std::vector<uint8_t> encode(const Message& m) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.u8(m.a);
  w.u16(m.b);
  w.u32(m.c);
  w.u64(m.d);
  w.varint(m.v);
  w.bytes(m.s);
  return out;
}

Result<Message> decode(Bytes in) {
  Reader r(in);
  auto a = r.u8();
  auto b = r.u16();
  auto c = r.u32();
  auto d = r.u64();
  auto v = r.varint();
  auto s = r.bytes(1000);
  if (auto done = r.finish(); !done) return fail(done.error());
  return Message{*a, *b, *c, *d, *v, std::string(as_chars(*s))};
}

}  // namespace

TEST_CASE("fixed-width integers are little-endian") {
  std::vector<uint8_t> out;
  Writer w(out);
  w.u16(0x0102);
  w.u32(0x03040506);
  w.u64(0x0708090a0b0c0d0e);
  CHECK(out == std::vector<uint8_t>{2, 1, 6, 5, 4, 3, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 9, 8, 7});
}

TEST_CASE("varints are LEB128") {
  std::vector<uint8_t> out;
  Writer(out).varint(300);
  CHECK(out == std::vector<uint8_t>{0xac, 0x02});
  out.clear();
  Writer(out).varint(std::numeric_limits<uint64_t>::max());
  CHECK(out.size() == 10);
  CHECK(out.back() == 1);
  Reader r(out);
  CHECK(*r.varint() == std::numeric_limits<uint64_t>::max());
}

TEST_CASE("random messages round trip") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 10000; ++i) {
    Message m;
    m.a = static_cast<uint8_t>(rng());
    m.b = static_cast<uint16_t>(rng());
    m.c = static_cast<uint32_t>(rng());
    m.d = rng();
    m.v = rng() >> (rng() % 64);  // all varint lengths
    m.s.resize(rng() % 200);
    for (auto& ch : m.s) ch = static_cast<char>(rng());
    const auto bytes = encode(m);
    auto back = decode(bytes);
    REQUIRE(back);
    CHECK(*back == m);
  }
}

TEST_CASE("every truncation of a valid message is rejected") {
  const Message m{1, 2, 3, 4, 1u << 30, "hello, wire"};
  const auto bytes = encode(m);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode(std::span(bytes).first(n));
    REQUIRE_FALSE(r);
    CHECK(r.error() == Errc::truncated);
  }
  CHECK(decode(bytes));
}

TEST_CASE("trailing bytes are refused by finish()") {
  auto bytes = encode({1, 2, 3, 4, 5, "x"});
  bytes.push_back(0);
  auto r = decode(bytes);
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::malformed);
}

TEST_CASE("overlong and over-wide varints are rejected") {
  const std::vector<std::vector<uint8_t>> bad = {
      {0x80, 0x00},                                                  // 0 in two bytes
      {0xff, 0x80, 0x00},                                            // 127 in three bytes
      {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02},  // bit 65
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},  // > 64 bits
      {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00},  // eleven bytes
  };
  for (const auto& b : bad) {
    Reader r(b);
    auto v = r.varint();
    REQUIRE_FALSE(v);
    CHECK(v.error() == Errc::overlong_varint);
  }
  const std::vector<uint8_t> zero{0x00};
  Reader r(zero);
  CHECK(*r.varint() == 0);
}

TEST_CASE("a length field of 2^40 fails without allocating or reading past the end") {
  std::vector<uint8_t> in;
  Writer(in).varint(uint64_t{1} << 40);
  in.push_back('x');
  {
    Reader r(in);
    auto b = r.bytes(std::numeric_limits<size_t>::max());
    REQUIRE_FALSE(b);
    CHECK(b.error() == Errc::truncated);
  }
  {
    Reader r(in);
    auto b = r.bytes(4096);
    REQUIRE_FALSE(b);
    CHECK(b.error() == Errc::too_large);
  }
}

TEST_CASE("a failed reader stays failed and reports its first error") {
  const std::vector<uint8_t> in{0x80, 0x00, 1, 2, 3, 4};
  Reader r(in);
  CHECK_FALSE(r.varint());
  CHECK_FALSE(r.u8());
  CHECK(r.remaining() == 0);
  auto done = r.finish();
  REQUIRE_FALSE(done);
  CHECK(done.error() == Errc::overlong_varint);
}
