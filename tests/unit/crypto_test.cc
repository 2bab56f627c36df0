#include "protocol/crypto.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <unordered_set>

using namespace roam;
using namespace roam::crypto;

namespace {

std::vector<uint8_t> hex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::vector<uint8_t> counting(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i);
  return v;
}

NonceBytes nonce_bytes(std::string_view h) {
  NonceBytes n{};
  auto v = hex(h);
  std::copy(v.begin(), v.end(), n.begin());
  return n;
}

Key rfc_key() {
  auto k = counting(16);
  return Key::from_bytes(std::span<const uint8_t, 16>(k.data(), 16));
}

// RFC 7253 Appendix A, AES-128 with a 128-bit tag: A and P are prefixes of
// 00 01 02 ..., so each sample is its nonce, the two lengths and C.
struct Sample {
  const char* nonce;
  size_t aad, plain;
  const char* sealed;
};
constexpr Sample rfc7253[] = {
    {"BBAA99887766554433221100", 0, 0, "785407BFFFC8AD9EDCC5520AC9111EE6"},
    {"BBAA99887766554433221101", 8, 8, "6820B3657B6F615A5725BDA0D3B4EB3A257C9AF1F8F03009"},
    {"BBAA99887766554433221102", 8, 0, "81017F8203F081277152FADE694A0A00"},
    {"BBAA99887766554433221103", 0, 8, "45DD69F8F5AAE72414054CD1F35D82760B2CD00D2F99BFA9"},
    {"BBAA99887766554433221104", 16, 16, "571D535B60B277188BE5147170A9A22C3AD7A4FF3835B8C5701C1CCEC8FC3358"},
    {"BBAA99887766554433221105", 16, 0, "8CF761B6902EF764462AD86498CA6B97"},
    {"BBAA99887766554433221106", 0, 16, "5CE88EC2E0692706A915C00AEB8B2396F40E1C743F52436BDF06D8FA1ECA343D"},
    {"BBAA99887766554433221107", 24, 24,
     "1CA2207308C87C010756104D8840CE1952F09673A448A122C92C62241051F57356D7F3C90BB0E07F"},
    {"BBAA99887766554433221108", 24, 0, "6DC225A071FC1B9F7C69F93B0F1E10DE"},
    {"BBAA99887766554433221109", 0, 24,
     "221BD0DE7FA6FE993ECCD769460A0AF2D6CDED0C395B1C3CE725F32494B9F914D85C0B1EB38357FF"},
    {"BBAA9988776655443322110A", 32, 32,
     "BD6F6C496201C69296C11EFD138A467ABD3C707924B964DEAFFC40319AF5A48540FBBA186C5553C68AD9F592A79A4240"},
    {"BBAA9988776655443322110B", 32, 0, "FE80690BEE8A485D11F32965BC9D2A32"},
    {"BBAA9988776655443322110C", 0, 32,
     "2942BFC773BDA23CABC6ACFD9BFD5835BD300F0973792EF46040C53F1432BCDFB5E1DDE3BC18A5F840B52E653444D5DF"},
    {"BBAA9988776655443322110D", 40, 40,
     "D5CA91748410C1751FF8A2F618255B68A0A12E093FF454606E59F9C1D0DDC54B65E8628E568BAD7AED07BA06A4A69483"
     "A7035490C5769E60"},
    {"BBAA9988776655443322110E", 40, 0, "C5CD9D1850C141E358649994EE701B68"},
    {"BBAA9988776655443322110F", 0, 40,
     "4412923493C57D5DE0D700F753CCE0D1D2D95060122E9F15A5DDBFC5787E50B5CC55EE507BCB084E479AD363AC366B95"
     "A98CA5F3000B1479"},
};

}  // namespace

TEST_CASE("OCB matches every RFC 7253 AES-128 sample, sealing and opening") {
  Cipher cipher(rfc_key());
  for (const auto& s : rfc7253) {
    CAPTURE(s.nonce);
    const auto aad = counting(s.aad);
    const auto plain = counting(s.plain);
    std::vector<uint8_t> sealed;
    cipher.seal(nonce_bytes(s.nonce), aad, plain, sealed);
    CHECK(sealed == hex(s.sealed));
    std::vector<uint8_t> opened;
    REQUIRE(cipher.open(nonce_bytes(s.nonce), aad, sealed, opened));
    CHECK(opened == plain);
  }
}

TEST_CASE("any flipped bit in ciphertext, tag, nonce or AAD is rejected") {
  Cipher cipher(Key::random());
  const auto aad = counting(8);
  const auto plain = counting(40);
  const auto nonce = Nonce(Direction::to_server, 7).bytes();
  std::vector<uint8_t> sealed;
  cipher.seal(nonce, aad, plain, sealed);
  std::vector<uint8_t> out{0xaa};
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    auto bad = sealed;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto r = cipher.open(nonce, aad, bad, out);
    REQUIRE_FALSE(r);
    CHECK(r.error() == Errc::auth_failed);
    CHECK(out == std::vector<uint8_t>{0xaa});  // nothing unauthenticated leaks out
  }
  for (size_t bit = 0; bit < nonce.size() * 8; ++bit) {
    auto bad = nonce;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    CHECK_FALSE(cipher.open(bad, aad, sealed, out));
  }
  for (size_t bit = 0; bit < aad.size() * 8; ++bit) {
    auto bad = aad;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    CHECK_FALSE(cipher.open(nonce, bad, sealed, out));
  }
  CHECK_FALSE(cipher.open(nonce, {}, sealed, out));                                  // AAD dropped
  CHECK_FALSE(cipher.open(nonce, aad, std::span(sealed).first(sealed.size() - 1), out));  // truncated
  CHECK_FALSE(cipher.open(nonce, aad, std::span(sealed).first(15), out));             // shorter than a tag
  CHECK(cipher.open(nonce, aad, sealed, out));
}

TEST_CASE("a message sealed in one direction does not open as the other") {
  Cipher cipher(Key::random());
  std::vector<uint8_t> sealed, out;
  const auto plain = counting(10);
  cipher.seal(Nonce(Direction::to_server, 5).bytes(), {}, plain, sealed);
  CHECK_FALSE(cipher.open(Nonce(Direction::to_client, 5).bytes(), {}, sealed, out));
  CHECK(cipher.open(Nonce(Direction::to_server, 5).bytes(), {}, sealed, out));
}

TEST_CASE("a different key does not open the message") {
  Cipher a(Key::random()), b(Key::random());
  std::vector<uint8_t> sealed, out;
  a.seal(Nonce(Direction::to_server, 1).bytes(), {}, counting(20), sealed);
  CHECK_FALSE(b.open(Nonce(Direction::to_server, 1).bytes(), {}, sealed, out));
}

TEST_CASE("nonce layout: four zero bytes, then the big-endian sequence number with the direction on top") {
  const auto n = Nonce(Direction::to_client, 0x0102030405060708).bytes();
  CHECK(std::vector<uint8_t>(n.begin(), n.end()) == hex("000000008102030405060708"));
  const auto m = Nonce(Direction::to_server, 1).bytes();
  CHECK(std::vector<uint8_t>(m.begin(), m.end()) == hex("000000000000000000000001"));
  CHECK(Nonce::from_value(0x8000000000000005).direction() == Direction::to_client);
  CHECK(Nonce::from_value(0x8000000000000005).counter() == 5);
}

TEST_CASE("1,000,000 sequence numbers give distinct nonces in each direction") {
  std::unordered_set<std::string> seen;
  seen.reserve(2'000'000);
  for (auto d : {Direction::to_server, Direction::to_client}) {
    SequenceCounter seq(d);
    for (int i = 0; i < 1'000'000; ++i) {
      auto n = seq.next();
      REQUIRE(n);
      const auto b = n->bytes();
      seen.emplace(b.begin(), b.end());
    }
  }
  CHECK(seen.size() == 2'000'000);
}

TEST_CASE("the sequence counter refuses to wrap") {
  SequenceCounter seq(Direction::to_client, Nonce::max_counter);
  auto last = seq.next();
  REQUIRE(last);
  CHECK(last->counter() == Nonce::max_counter);
  CHECK(last->direction() == Direction::to_client);
  auto wrapped = seq.next();
  REQUIRE_FALSE(wrapped);
  CHECK(wrapped.error() == Errc::exhausted);
  CHECK_FALSE(seq.next());
}

TEST_CASE("keys: random, 22-character base64 text form, strict parsing") {
  const Key a = Key::random(), b = Key::random();
  CHECK(a.to_base64() != b.to_base64());
  const auto text = a.to_base64();
  CHECK(text.size() == key_text_size);
  auto parsed = Key::from_base64(text);
  REQUIRE(parsed);
  CHECK(std::equal(parsed->bytes().begin(), parsed->bytes().end(), a.bytes().begin()));
  CHECK(rfc_key().to_base64() == "AAECAwQFBgcICQoLDA0ODw");
  CHECK_FALSE(Key::from_base64(""));
  CHECK_FALSE(Key::from_base64(text + "A"));
  CHECK_FALSE(Key::from_base64(text.substr(1)));
  CHECK_FALSE(Key::from_base64("AAECAwQFBgcICQoLDA0ODw=="));
  CHECK_FALSE(Key::from_base64("AAECAwQFBgcICQoLDA0OD!"));
  CHECK_FALSE(Key::from_base64("AAECAwQFBgcICQoLDA0ODx"));  // non-zero leftover bits
}

TEST_CASE("a key's bytes are wiped when it is destroyed") {
  alignas(Key) unsigned char storage[sizeof(Key)];
  Key* k = std::construct_at(reinterpret_cast<Key*>(storage), Key::random());
  std::destroy_at(k);
  bool all_zero = true;
  for (size_t i = 0; i < key_size; ++i) all_zero = all_zero && storage[i] == 0;
  CHECK(all_zero);
}
