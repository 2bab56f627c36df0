// One state-sync message: "apply `diff` to your state old_num to get my state
// new_num; I have your states up to ack_num; I will never again diff from a
// state older than throwaway_num".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "protocol/result.h"

namespace roam {

// The network protocol's version; both ends must speak the same.
inline constexpr uint8_t protocol_version = 2;  // 2: pens carry an underline colour

struct Instruction {
  uint64_t old_num = 0;
  uint64_t new_num = 0;
  uint64_t ack_num = 0;
  uint64_t throwaway_num = 0;
  std::vector<uint8_t> diff;  // empty: an acknowledgement or heartbeat only
};

void encode(const Instruction& in, std::vector<uint8_t>& out);
// Takes the diff out of `bytes`; refuses other protocol versions. The first
// form decodes into `into`, reusing its diff's storage.
Result<void> decode_instruction(std::span<const uint8_t> bytes, Instruction& into);
Result<Instruction> decode_instruction(std::span<const uint8_t> bytes);

}  // namespace roam
