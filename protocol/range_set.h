// A set of 64-bit numbers kept as sorted, disjoint half-open ranges
// [begin, end): the received offsets of a stream, the acknowledged or lost
// parts of what it sent, the packet numbers that arrived. The number of
// ranges is bounded, so a peer that scatters tiny pieces cannot make it grow
// without limit: an add that would need one range too many is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace roam {

struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;  // one past the last
  uint64_t size() const { return end - begin; }
  bool operator==(const Range&) const = default;
};

class RangeSet {
 public:
  explicit RangeSet(size_t max_ranges) : max_ranges_(max_ranges) {}

  // Adds [begin, end). False, and nothing changed, if that needs more ranges
  // than allowed.
  [[nodiscard]] bool add(uint64_t begin, uint64_t end);
  // Adds [begin, end); when that needs a range too many, widens a neighbour
  // over the gap instead, so the set may then hold more than was added (for
  // "send this again": resending a little extra is harmless).
  void add_widening(uint64_t begin, uint64_t end);
  // Removes [begin, end). May split a range, so the set can end up one range
  // over its bound; only add() refuses.
  void remove(uint64_t begin, uint64_t end);
  // Forgets everything below `value`.
  void remove_below(uint64_t value);
  void pop_front() { ranges_.erase(ranges_.begin()); }
  void clear() { ranges_.clear(); }

  bool contains(uint64_t value) const;
  // The end of the range that holds `value`, or `value` itself when none does:
  // how far the set runs without a gap from there.
  uint64_t contiguous_end(uint64_t value) const;

  bool empty() const { return ranges_.empty(); }
  size_t size() const { return ranges_.size(); }
  size_t max_ranges() const { return max_ranges_; }
  const Range& front() const { return ranges_.front(); }
  const Range& back() const { return ranges_.back(); }
  const Range& operator[](size_t i) const { return ranges_[i]; }
  std::span<const Range> ranges() const { return ranges_; }

 private:
  size_t max_ranges_;
  std::vector<Range> ranges_;
};

}  // namespace roam
