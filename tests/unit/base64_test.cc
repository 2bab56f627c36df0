#include "protocol/base64.h"

#include <doctest/doctest.h>

#include <random>

using namespace roam;

TEST_CASE("RFC 4648 test strings, without padding") {
  auto enc = [](std::string_view s) {
    return base64_encode({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  };
  CHECK(enc("") == "");
  CHECK(enc("f") == "Zg");
  CHECK(enc("fo") == "Zm8");
  CHECK(enc("foo") == "Zm9v");
  CHECK(enc("foob") == "Zm9vYg");
  CHECK(enc("fooba") == "Zm9vYmE");
  CHECK(enc("foobar") == "Zm9vYmFy");
}

TEST_CASE("random round trips of every length up to 64") {
  std::mt19937 rng(1);
  for (size_t n = 0; n <= 64; ++n) {
    std::vector<uint8_t> data(n);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    const auto text = base64_encode(data);
    std::vector<uint8_t> back(n);
    REQUIRE(base64_decode(text, back));
    CHECK(back == data);
  }
}

TEST_CASE("decoding is strict") {
  std::vector<uint8_t> out(3);
  CHECK(base64_decode("Zm9v", out));
  CHECK_FALSE(base64_decode("Zm9", out));     // wrong length for 3 bytes
  CHECK_FALSE(base64_decode("Zm9v=", out));   // padding
  CHECK_FALSE(base64_decode("Zm 9", out));    // whitespace
  CHECK_FALSE(base64_decode("Zm9\n", out));
  std::vector<uint8_t> two(2);
  CHECK(base64_decode("Zm8", two));
  CHECK_FALSE(base64_decode("Zm9", two));     // non-zero leftover bits
}
