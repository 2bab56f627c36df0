#include "protocol/fragment.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "protocol/datagram.h"

using namespace roam;

namespace {

using Encoded = std::vector<std::vector<uint8_t>>;

Encoded encode_all(const std::vector<Fragment>& fragments) {
  Encoded out;
  for (const auto& f : fragments) {
    out.emplace_back();
    encode_fragment(f, out.back());
  }
  return out;
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

}  // namespace

TEST_CASE("random instructions up to 1 MiB survive reordering and duplication") {
  std::mt19937_64 rng(7);
  Fragmenter fragmenter;
  Reassembler reassembler;
  for (int round = 0; round < 40; ++round) {
    const size_t size = round == 0 ? 0 : rng() % (1 << 20);
    const auto instruction = random_bytes(rng, size);
    std::vector<Fragment> fragments;
    REQUIRE(fragmenter.split(instruction, max_datagram_payload, fragments));
    auto encoded = encode_all(fragments);
    for (const auto& e : encoded) CHECK(e.size() <= max_datagram_payload);
    // Duplicate a third of them and shuffle everything.
    const size_t n = encoded.size();
    for (size_t i = 0; i < n / 3 + 1; ++i) encoded.push_back(encoded[rng() % n]);
    std::shuffle(encoded.begin(), encoded.end(), rng);
    int completions = 0;
    std::vector<uint8_t> result;
    for (const auto& e : encoded) {
      auto r = reassembler.add(e);
      REQUIRE(r);
      if (*r) {
        ++completions;
        result.assign(reassembler.completed().begin(), reassembler.completed().end());
      }
    }
    CHECK(completions == 1);
    CHECK(result == instruction);
  }
}

TEST_CASE("fragments of another instruction in between do not corrupt the result") {
  std::mt19937_64 rng(11);
  Fragmenter fragmenter;
  const auto older = random_bytes(rng, 5000);
  const auto newer = random_bytes(rng, 9000);
  std::vector<Fragment> older_f, newer_f;
  REQUIRE(fragmenter.split(older, 600, older_f));
  REQUIRE(fragmenter.split(newer, 600, newer_f));
  const auto a = encode_all(older_f);
  const auto b = encode_all(newer_f);

  SUBCASE("interleaved: both complete, in either order") {
    Reassembler r;
    std::vector<std::vector<uint8_t>> done;
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      for (const auto* list : {&b, &a}) {
        if (i < list->size()) {
          auto res = r.add((*list)[i]);
          REQUIRE(res);
          if (*res) done.emplace_back(r.completed().begin(), r.completed().end());
        }
      }
    }
    // The newer one completes last here (it has more fragments), so both arrive.
    REQUIRE(done.size() == 2);
    CHECK(done[0] == older);
    CHECK(done[1] == newer);
  }

  SUBCASE("an older instruction's fragment after a newer one completed is stale") {
    Reassembler r;
    std::vector<uint8_t> result;
    for (size_t i = 0; i < b.size(); ++i) {
      auto res = r.add(b[i]);
      REQUIRE(res);
      if (*res) result.assign(r.completed().begin(), r.completed().end());
      if (i == 2) {
        auto stale = r.add(a[0]);
        REQUIRE(stale);
        CHECK_FALSE(*stale);
      }
    }
    CHECK(result == newer);
    for (const auto& e : a) {
      auto res = r.add(e);
      REQUIRE(res);
      CHECK_FALSE(*res);
    }
    CHECK(r.stale_dropped() == a.size());
  }
}

TEST_CASE("caps: fragment count, instruction size, malformed headers") {
  Fragmenter fragmenter;
  std::vector<uint8_t> huge(max_instruction_size + 1);
  std::vector<Fragment> out;
  CHECK(fragmenter.split(huge, max_datagram_payload, out).error() == Errc::too_large);
  std::vector<uint8_t> small(100);
  CHECK(fragmenter.split(small, fragment_header_size, out).error() == Errc::too_large);
  // 4 MiB in fragments of 100 bytes would need too many fragments.
  std::vector<uint8_t> big(max_instruction_size);
  CHECK(fragmenter.split(big, 100, out).error() == Errc::too_large);
  CHECK(fragmenter.split(big, max_datagram_payload, out));

  Reassembler r;
  std::vector<uint8_t> header_only;
  encode_fragment({1, max_fragments, false, {}}, header_only);
  CHECK(r.add(header_only).error() == Errc::too_large);
  CHECK(r.add(std::vector<uint8_t>(9, 0)).error() == Errc::truncated);

  // A sender claiming more than 4 MiB in total is refused once it gets there.
  std::vector<uint8_t> chunk(1200, 'z');
  bool refused = false;
  for (uint16_t i = 0; i < max_fragments && !refused; ++i) {
    std::vector<uint8_t> e;
    encode_fragment({9, i, false, chunk}, e);
    auto res = r.add(e);
    if (!res) {
      CHECK(res.error() == Errc::too_large);
      CHECK(size_t{i} * chunk.size() <= max_instruction_size);
      refused = true;
    }
  }
  CHECK(refused);
}

TEST_CASE("contradictory final flags are malformed") {
  Reassembler r;
  std::vector<uint8_t> e;
  encode_fragment({3, 5, false, {}}, e);
  REQUIRE(r.add(e));
  e.clear();
  encode_fragment({3, 2, true, {}}, e);  // final at 2, but 5 was seen
  CHECK(r.add(e).error() == Errc::malformed);
  e.clear();
  encode_fragment({4, 2, true, {}}, e);
  REQUIRE(r.add(e));
  e.clear();
  encode_fragment({4, 3, false, {}}, e);  // beyond the final fragment
  CHECK(r.add(e).error() == Errc::malformed);
}

TEST_CASE("only a few partial instructions are kept") {
  Reassembler r;
  std::vector<uint8_t> e;
  for (uint64_t id = 10; id < 20; ++id) {
    e.clear();
    encode_fragment({id, 1, true, std::vector<uint8_t>(50, 1)}, e);
    REQUIRE(r.add(e));
  }
  // The newest partial instructions are still there: complete id 19.
  e.clear();
  encode_fragment({19, 0, false, std::vector<uint8_t>(50, 2)}, e);
  auto res = r.add(e);
  REQUIRE(res);
  CHECK(*res);
  // The oldest were forgotten: id 10 cannot complete any more.
  e.clear();
  encode_fragment({10, 0, false, {}}, e);
  res = r.add(e);
  REQUIRE(res);
  CHECK_FALSE(*res);
}
