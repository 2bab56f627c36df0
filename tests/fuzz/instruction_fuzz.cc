// Instruction decoding, and the compression layer in front of it:
//  - decode_instruction on the input; what decodes re-encodes to a message
//    that decodes to the same instruction;
//  - Compressor::unpack on the input (as a packed body: stored or zstd, with
//    the same bound the connection uses), then decode_instruction on that;
//  - pack then unpack the input: the same bytes come back.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/compress.h"
#include "protocol/fragment.h"
#include "protocol/instruction.h"

using namespace roam;

namespace {

bool same(const Instruction& a, const Instruction& b) {
  return a.old_num == b.old_num && a.new_num == b.new_num && a.ack_num == b.ack_num &&
         a.throwaway_num == b.throwaway_num && a.diff == b.diff;
}

void decode_and_check(std::span<const uint8_t> bytes) {
  auto in = decode_instruction(bytes);
  if (!in) return;
  std::vector<uint8_t> again;
  encode(*in, again);
  auto back = decode_instruction(again);
  if (!back || !same(*in, *back)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  static Compressor compressor;  // as a Connection keeps one: contexts are reused

  decode_and_check(input);

  std::vector<uint8_t> unpacked;
  if (compressor.unpack(input, max_instruction_size, unpacked)) {
    if (unpacked.size() > max_instruction_size) __builtin_trap();
    decode_and_check(unpacked);
  }

  std::vector<uint8_t> packed, back;
  compressor.pack(input, packed);
  if (!compressor.unpack(packed, max_instruction_size, back)) __builtin_trap();
  if (!std::equal(back.begin(), back.end(), input.begin(), input.end())) __builtin_trap();
  return 0;
}
