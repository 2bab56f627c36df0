// Random bytes into every network decoder: none may crash, read out of
// bounds (run under the sanitizer build) or allocate without a bound.
#include <doctest/doctest.h>

#include <random>

#include "protocol/compress.h"
#include "protocol/datagram.h"
#include "protocol/fragment.h"
#include "protocol/wire.h"

using namespace roam;

namespace {

constexpr int iterations = 100'000;

std::vector<uint8_t> random_input(std::mt19937_64& rng) {
  // Mostly short inputs, some up to a full datagram.
  const size_t n = (rng() % 4 == 0) ? rng() % 1400 : rng() % 40;
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng() % 8 == 0 ? 0xff : rng());
  return v;
}

}  // namespace

TEST_CASE("wire reader") {
  std::mt19937_64 rng(100);
  for (int i = 0; i < iterations; ++i) {
    const auto in = random_input(rng);
    wire::Reader r(in);
    // Every read consumes what it returns and nothing more, or fails and
    // leaves the reader failed: never a read past the end.
    while (r.remaining() > 0) {
      const size_t before = r.remaining();
      size_t took = 0;
      bool ok = false;
      switch (rng() % 6) {
        case 0: ok = r.u8().has_value(), took = 1; break;
        case 1: ok = r.u16().has_value(), took = 2; break;
        case 2: ok = r.u64().has_value(), took = 8; break;
        case 3: ok = r.varint().has_value(), took = before - r.remaining(); break;
        case 4: {
          auto b = r.bytes(1 << 20);
          ok = b.has_value();
          if (ok) {
            REQUIRE(b->size() < before);
            took = before - r.remaining();
            REQUIRE(took > b->size());
          }
          break;
        }
        default: {
          const size_t n = rng() % 64;
          auto b = r.raw(n);
          ok = b.has_value();
          if (ok) REQUIRE(b->size() == n);
          took = n;
          break;
        }
      }
      if (ok) {
        REQUIRE(r.ok());
        REQUIRE(took <= before);
        REQUIRE(r.remaining() == before - took);
      } else {
        REQUIRE_FALSE(r.ok());
        REQUIRE_FALSE(r.finish());
      }
    }
  }
}

TEST_CASE("datagram opener") {
  std::mt19937_64 rng(101);
  const auto key = crypto::Key::random();
  DatagramCodec codec(key, 0, crypto::Direction::to_client);
  int opened = 0;
  for (int i = 0; i < iterations; ++i) {
    auto in = random_input(rng);
    if (in.size() >= 8) std::fill(in.begin(), in.begin() + 8, 0);  // reach past routing
    (void)peek_conn_id(in);
    opened += codec.open(in).has_value();
  }
  CHECK(opened == 0);
}

TEST_CASE("fragment decoder and reassembler") {
  std::mt19937_64 rng(102);
  Reassembler r;
  int completed = 0;
  for (int i = 0; i < iterations; ++i) {
    auto in = random_input(rng);
    // Keep ids and indexes small so fragments collide and partials fill.
    if (in.size() >= 10) {
      in[1] = in[2] = in[3] = in[4] = in[5] = in[6] = in[7] = 0;
      in[0] %= 8;
      in[9] &= 0x80;
    }
    auto res = r.add(in);
    if (res && *res) {
      // A completed instruction never exceeds the bound, however it was cut.
      CHECK(r.completed().size() <= max_instruction_size);
      ++completed;
    }
  }
  // Small ids collide often: some random fragments complete instructions,
  // so the reassembly path, not only the header checks, was exercised.
  CHECK(completed > 0);
}

TEST_CASE("decompressor") {
  std::mt19937_64 rng(103);
  Compressor c;
  std::vector<uint8_t> out;
  for (int i = 0; i < iterations; ++i) {
    auto in = random_input(rng);
    if (!in.empty()) in[0] %= 3;
    if (in.size() > 5 && rng() % 2) {
      // A zstd magic number, so the frame parser itself is exercised.
      in[0] = 1;
      in[1] = 0x28; in[2] = 0xb5; in[3] = 0x2f; in[4] = 0xfd;
    }
    out.clear();
    (void)c.unpack(in, 1 << 16, out);
    CHECK(out.size() <= (1u << 16));
  }
}
