// Fragment reassembly, two ways.
//  1. The input as a stream of encoded fragments (u16 length, little-endian,
//     then the fragment) into one Reassembler: no crash, bounded memory.
//  2. The input as an instruction: Fragmenter splits it (maximum fragment
//     size from the first two bytes), the fragments arrive in an order and
//     with duplicates the input picks, and the Reassembler must hand back
//     exactly the instruction.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "protocol/fragment.h"

using namespace roam;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);

  {
    Reassembler r;
    for (size_t at = 0; at < size;) {
      size_t len = data[at];
      if (at + 1 < size) len |= static_cast<size_t>(data[at + 1]) << 8;
      at += 2;
      if (at > size) break;
      len = std::min(len, size - at);
      auto fragment = input.subspan(at, len);
      at += len;
      if (auto f = decode_fragment(fragment)) {
        // Re-encoding a decoded fragment gives back its bytes.
        std::vector<uint8_t> again;
        encode_fragment(*f, again);
        if (!std::equal(again.begin(), again.end(), fragment.begin(), fragment.end())) __builtin_trap();
      }
      auto done = r.add(fragment);
      if (done && *done) {
        auto instruction = r.completed();
        if (instruction.size() > max_instruction_size) __builtin_trap();
      }
    }
  }

  if (size < 2) return 0;
  const auto instruction = input.subspan(2);
  // At most 64 fragments: thousands of one-byte ones only slow the fuzzer.
  const size_t min_chunk = instruction.size() / 64 + 1;
  const size_t max_size = fragment_header_size + min_chunk + (static_cast<size_t>(data[0] | data[1] << 8) % 1400);
  Fragmenter fragmenter;
  std::vector<Fragment> fragments;
  if (!fragmenter.split(instruction, max_size, fragments)) return 0;
  std::vector<std::vector<uint8_t>> encoded;
  for (const Fragment& f : fragments) {
    encoded.emplace_back();
    encode_fragment(f, encoded.back());
    if (encoded.back().size() > max_size) __builtin_trap();
  }
  // A permutation with duplicates, driven by the instruction's own bytes.
  Reassembler r;
  size_t n = encoded.size(), completed = 0;
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  for (size_t i = n; i > 1; --i) {
    const size_t j = instruction.empty() ? 0 : instruction[i % instruction.size()] % i;
    std::swap(order[i - 1], order[j]);
  }
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order[k];
    auto done = r.add(encoded[i]);
    if (!done) __builtin_trap();
    if (*done) {
      ++completed;
      auto got = r.completed();
      if (!std::equal(got.begin(), got.end(), instruction.begin(), instruction.end())) __builtin_trap();
    }
    // A duplicate of the fragment just added, now and then.
    if (!instruction.empty() && instruction[k % instruction.size()] & 1) {
      auto again = r.add(encoded[i]);
      if (!again || *again) __builtin_trap();
    }
  }
  if (completed != 1) __builtin_trap();
  return 0;
}
