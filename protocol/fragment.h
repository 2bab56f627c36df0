// Instructions (one packed state diff each) larger than a datagram travel as
// numbered fragments: id[8] | index[2] (top bit: final) | bytes.
// Reassembly tolerates loss, reordering and duplication, and bounds memory.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/result.h"

namespace roam {

inline constexpr size_t fragment_header_size = 10;
inline constexpr size_t max_instruction_size = 4 << 20;
inline constexpr uint16_t max_fragments = 4096;

struct Fragment {
  uint64_t instruction_id = 0;
  uint16_t index = 0;
  bool final = false;
  std::span<const uint8_t> payload;  // a view into the instruction or datagram
};

void encode_fragment(const Fragment& f, std::vector<uint8_t>& out);
Result<Fragment> decode_fragment(std::span<const uint8_t> bytes);

// Numbers instructions and cuts them into fragments whose encoding is at most
// `max_size` bytes. The fragments view `instruction`, which must outlive them.
class Fragmenter {
 public:
  // Replaces `out`'s content (its storage is reused: nothing is allocated
  // once it has held as many fragments).
  Result<void> split(std::span<const uint8_t> instruction, size_t max_size, std::vector<Fragment>& out);

 private:
  uint64_t next_id_ = 0;
};

class Reassembler {
 public:
  // Adds one encoded fragment. Returns true when it completed an instruction,
  // which completed() then shows until the next add(). Fragments of instructions older than the
  // newest completed one are stale and ignored.
  Result<bool> add(std::span<const uint8_t> encoded);
  std::span<const uint8_t> completed() const { return completed_; }

  uint64_t stale_dropped() const { return stale_dropped_; }
  // Fragments of the newest completed instruction again: copies, not stale.
  uint64_t duplicates_dropped() const { return duplicates_dropped_; }

 private:
  // Slots keep their buffers when an instruction completes or is dropped,
  // so reassembly allocates nothing in steady state.
  struct Partial {
    bool used = false;
    uint64_t id = 0;
    std::vector<std::vector<uint8_t>> parts;
    std::vector<bool> have;
    size_t received = 0;
    size_t bytes = 0;
    int final_index = -1;
  };
  // Instructions may interleave when the network reorders; a few are kept.
  static constexpr size_t max_partials = 4;

  Partial& slot_for(uint64_t id);

  std::array<Partial, max_partials> partials_;
  std::vector<uint8_t> completed_;
  uint64_t newest_completed_ = 0;
  bool any_completed_ = false;
  uint64_t stale_dropped_ = 0;
  uint64_t duplicates_dropped_ = 0;
};

}  // namespace roam
