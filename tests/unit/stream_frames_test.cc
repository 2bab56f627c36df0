#include "protocol/stream_frames.h"

#include <doctest/doctest.h>

#include <functional>
#include <random>

using namespace roam;

namespace {

std::vector<uint8_t> bytes_of(const std::function<void(wire::Writer&)>& f) {
  std::vector<uint8_t> out;
  wire::Writer w(out);
  f(w);
  return out;
}

Frame decode_one(const std::vector<uint8_t>& in) {
  wire::Reader r(in);
  auto f = decode_frame(r);
  REQUIRE(f);
  CHECK(r.remaining() == 0);
  return *f;
}

std::vector<uint8_t> reencode(const Frame& f) {
  return bytes_of([&](wire::Writer& w) { encode_frame(w, f); });
}

std::vector<Range> ranges_of(const AckFrame& a) {
  std::vector<Range> out;
  AckRangeReader r(a);
  for (Range x; r.next(x);) out.push_back(x);
  return out;
}

// A random frame of any type, encoded.
std::vector<uint8_t> random_frame(std::mt19937_64& rng, std::vector<uint8_t>& data) {
  auto big = [&] { return rng() % 2 ? rng() % 300 : rng() & max_stream_value; };
  switch (rng() % 8) {
    case 0: return bytes_of([&](wire::Writer& w) { encode_padding(w, 1 + rng() % 5); });
    case 1: return bytes_of([&](wire::Writer& w) { encode_ping(w); });
    case 2: {
      std::vector<Range> ranges;
      uint64_t top = (rng() & max_stream_value) | 1'000'000;
      for (size_t i = 0; i < 1 + rng() % max_ack_ranges && top > 10; ++i) {
        const uint64_t end = top - rng() % std::min<uint64_t>(top / 2, 1000);
        const uint64_t begin = end - 1 - rng() % std::min<uint64_t>(end / 2, 1000);
        ranges.push_back({begin, end});
        if (begin < 2) break;
        top = begin - 1;
      }
      return bytes_of([&](wire::Writer& w) { encode_ack(w, big(), ranges); });
    }
    case 3: return bytes_of([&](wire::Writer& w) { encode_reset_stream(w, {big(), big(), big()}); });
    case 4: return bytes_of([&](wire::Writer& w) { encode_max_data(w, big()); });
    case 5: return bytes_of([&](wire::Writer& w) { encode_max_stream_data(w, big(), big()); });
    case 6: return bytes_of([&](wire::Writer& w) { encode_max_streams(w, big()); });
    default: {
      data.resize(rng() % 2000);
      for (auto& b : data) b = static_cast<uint8_t>(rng());
      const bool fin = data.empty() || rng() % 4 == 0;
      const uint64_t offset = rng() % 3 == 0 ? 0 : big() % (max_stream_value - data.size());
      return bytes_of([&](wire::Writer& w) {
        encode_stream_header(w, big(), offset, data.size(), fin);
        w.raw(data);
      });
    }
  }
}

}  // namespace

TEST_CASE("every frame type round-trips") {
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5};
  {
    auto in = bytes_of([&](wire::Writer& w) {
      encode_stream_header(w, 6, 1'000'000, data.size(), true);
      w.raw(data);
    });
    CHECK(in.size() == stream_header_size(6, 1'000'000, data.size()) + data.size());
    Frame f = decode_one(in);
    CHECK(f.type == FrameType::stream);
    CHECK(f.stream.id == 6);
    CHECK(f.stream.offset == 1'000'000);
    CHECK(f.stream.fin);
    CHECK(std::vector<uint8_t>(f.stream.data.begin(), f.stream.data.end()) == data);
    CHECK(reencode(f) == in);
  }
  {
    // Offset 0 leaves the offset out; no length runs to the end.
    std::vector<uint8_t> in = {0x08, 4, 'a', 'b'};
    Frame f = decode_one(in);
    CHECK(f.stream.offset == 0);
    CHECK_FALSE(f.stream.explicit_length);
    CHECK(f.stream.data.size() == 2);
    CHECK(reencode(f) == in);
  }
  {
    const std::vector<Range> ranges = {{90, 101}, {50, 60}, {0, 1}};
    auto in = bytes_of([&](wire::Writer& w) { encode_ack(w, 1234, ranges); });
    CHECK(in.size() == ack_size(1234, ranges));
    Frame f = decode_one(in);
    CHECK(f.ack.largest == 100);
    CHECK(f.ack.delay_us == 1234);
    CHECK(ranges_of(f.ack) == ranges);
    CHECK(reencode(f) == in);
  }
  {
    auto in = bytes_of([&](wire::Writer& w) { encode_reset_stream(w, {5, 9, 77}); });
    Frame f = decode_one(in);
    CHECK(f.reset.id == 5);
    CHECK(f.reset.code == 9);
    CHECK(f.reset.final_size == 77);
    CHECK(reencode(f) == in);
  }
  for (auto [type, value] : {std::pair<FrameType, uint64_t>{FrameType::max_data, uint64_t{1} << 40}, {FrameType::max_streams, 300}}) {
    auto in = bytes_of([&](wire::Writer& w) {
      if (type == FrameType::max_data) encode_max_data(w, value);
      else encode_max_streams(w, value);
    });
    Frame f = decode_one(in);
    CHECK(f.type == type);
    CHECK(f.value == value);
    CHECK(reencode(f) == in);
  }
  {
    auto in = bytes_of([&](wire::Writer& w) { encode_max_stream_data(w, 3, 1 << 20); });
    Frame f = decode_one(in);
    CHECK(f.id == 3);
    CHECK(f.value == 1 << 20);
    CHECK(reencode(f) == in);
  }
  {
    std::vector<uint8_t> in = {0, 0, 0, 0};
    Frame f = decode_one(in);
    CHECK(f.padding == 4);
    CHECK(reencode(f) == in);
    CHECK(decode_one({1}).type == FrameType::ping);
  }
}

TEST_CASE("a packet: header, then frames to the end") {
  std::vector<uint8_t> p;
  wire::Writer w(p);
  encode_packet_header(w, 300);
  encode_ping(w);
  encode_max_data(w, 9);
  wire::Reader r(p);
  auto h = decode_packet_header(r);
  REQUIRE(h);
  CHECK(h->number == 300);
  CHECK(decode_frame(r)->type == FrameType::ping);
  CHECK(decode_frame(r)->value == 9);
  CHECK(r.remaining() == 0);
  p[0] = 2;
  wire::Reader bad(p);
  CHECK(decode_packet_header(bad).error() == Errc::bad_version);
}

TEST_CASE("random frames round-trip, and every truncation is refused") {
  std::mt19937_64 rng(42);
  std::vector<uint8_t> data;
  for (int i = 0; i < 20'000; ++i) {
    const auto in = random_frame(rng, data);
    const Frame f = decode_one(in);
    REQUIRE(reencode(f) == in);
    if (f.type == FrameType::padding || (f.type == FrameType::stream && !f.stream.explicit_length)) continue;
    const size_t cut = rng() % in.size();
    std::vector<uint8_t> part(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(cut));
    wire::Reader r(part);
    CHECK_FALSE(decode_frame(r));
  }
}

TEST_CASE("attack: frames out of bounds are refused") {
  auto refused = [](std::vector<uint8_t> in) {
    wire::Reader r(in);
    return !decode_frame(r);
  };
  // An unknown frame type: frames carry no length, so nothing after it can be read.
  CHECK(refused({0x07}));
  CHECK(refused({0x10}));
  // An offset bit with offset 0: a second encoding of the same frame.
  CHECK(refused({0x0e, 0, 0, 1, 'x'}));
  // An empty stream frame without FIN says nothing.
  CHECK(refused({0x0a, 0, 0}));
  // A length longer than the packet.
  CHECK(refused({0x0a, 0, 50, 'x'}));
  // Offset plus length past 2^62.
  CHECK(refused(bytes_of([](wire::Writer& w) {
    w.u8(0x0e);
    w.varint(0);
    w.varint(max_stream_value);
    w.varint(2);
    w.raw(std::string_view("ab"));
  })));
  // Values at or past 2^62.
  CHECK(refused(bytes_of([](wire::Writer& w) { encode_max_data(w, max_stream_value + 1); })));
  CHECK(refused(bytes_of([](wire::Writer& w) { encode_reset_stream(w, {uint64_t{1} << 63, 0, 0}); })));
  // ACK: a first range below zero; a gap below zero; a range below zero.
  CHECK(refused({0x02, 5, 0, 0, 6}));
  CHECK(refused({0x02, 5, 0, 1, 2, 2, 0}));
  CHECK(refused({0x02, 5, 0, 1, 0, 0, 4}));
  CHECK_FALSE(refused({0x02, 5, 0, 1, 0, 0, 3}));
  // Too many ranges.
  CHECK(refused(bytes_of([](wire::Writer& w) {
    w.u8(0x02);
    w.varint(1'000'000);
    w.varint(0);
    w.varint(max_ack_ranges);
    w.varint(0);
    for (size_t i = 0; i < max_ack_ranges; ++i) {
      w.varint(0);
      w.varint(0);
    }
  })));
  // The most ranges allowed pass.
  std::vector<Range> ranges;
  for (uint64_t i = 0; i < max_ack_ranges; ++i) ranges.push_back({1000 - 3 * i - 1, 1000 - 3 * i});
  CHECK_FALSE(refused(bytes_of([&](wire::Writer& w) { encode_ack(w, 0, ranges); })));
}

TEST_CASE("varint_size is what the writer writes") {
  for (uint64_t v : std::initializer_list<uint64_t>{0, 127, 128, 16383, 16384, max_stream_value, ~uint64_t{0}}) {
    std::vector<uint8_t> out;
    wire::Writer(out).varint(v);
    CHECK(varint_size(v) == out.size());
  }
}
