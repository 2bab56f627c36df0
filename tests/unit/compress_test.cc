#include "protocol/compress.h"

#include <doctest/doctest.h>

#include <zstd.h>

#include <random>

using namespace roam;

TEST_CASE("small bodies are stored, large repetitive ones compressed, both round trip") {
  Compressor c;
  const std::vector<uint8_t> key{'x'};
  std::vector<uint8_t> packed;
  c.pack(key, packed);
  CHECK(packed == std::vector<uint8_t>{0, 'x'});

  std::vector<uint8_t> screen(100000, ' ');
  for (size_t i = 0; i < screen.size(); i += 80) screen[i] = '\n';
  packed.clear();
  c.pack(screen, packed);
  CHECK(packed[0] == 1);
  CHECK(packed.size() < screen.size() / 20);
  std::vector<uint8_t> back;
  REQUIRE(c.unpack(packed, screen.size(), back));
  CHECK(back == screen);
}

TEST_CASE("incompressible bodies are stored, not grown") {
  std::mt19937 rng(3);
  std::vector<uint8_t> noise(5000);
  for (auto& b : noise) b = static_cast<uint8_t>(rng());
  Compressor c;
  std::vector<uint8_t> packed, back;
  c.pack(noise, packed);
  CHECK(packed.size() == noise.size() + 1);
  REQUIRE(c.unpack(packed, noise.size(), back));
  CHECK(back == noise);
}

TEST_CASE("the decompression cap is enforced before allocating") {
  Compressor c;
  const std::vector<uint8_t> zeros(1 << 20, 0);
  std::vector<uint8_t> packed, back;
  c.pack(zeros, packed);
  REQUIRE(packed[0] == 1);
  auto r = c.unpack(packed, (1 << 20) - 1, back);
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::too_large);
  CHECK(back.empty());
  std::vector<uint8_t> stored{0, 1, 2, 3};
  CHECK_FALSE(c.unpack(stored, 2, back));
}

TEST_CASE("malformed packed bodies are refused") {
  Compressor c;
  std::vector<uint8_t> back;
  CHECK(c.unpack(std::vector<uint8_t>{}, 100, back).error() == Errc::truncated);
  CHECK(c.unpack(std::vector<uint8_t>{7, 1, 2}, 100, back).error() == Errc::malformed);
  CHECK(c.unpack(std::vector<uint8_t>{1, 1, 2, 3}, 100, back).error() == Errc::malformed);

  std::vector<uint8_t> text(1000);
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<uint8_t>('a' + i % 7);
  std::vector<uint8_t> packed;
  c.pack(text, packed);
  REQUIRE(packed[0] == 1);
  auto trailing = packed;
  trailing.push_back(0);
  CHECK_FALSE(c.unpack(trailing, 10000, back));
  for (size_t n = 1; n < packed.size(); ++n)
    CHECK_FALSE(c.unpack(std::span(packed).first(n), 10000, back));
  CHECK(back.empty());

  // A frame without a content size never comes from us.
  std::vector<uint8_t> frame(ZSTD_compressBound(text.size()) + 1);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  const size_t n = ZSTD_compress2(cctx, frame.data() + 1, frame.size() - 1, text.data(), text.size());
  ZSTD_freeCCtx(cctx);
  REQUIRE_FALSE(ZSTD_isError(n));
  frame.resize(n + 1);
  frame[0] = 1;
  CHECK(c.unpack(frame, 10000, back).error() == Errc::malformed);
}
