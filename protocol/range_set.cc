#include "protocol/range_set.h"

#include <algorithm>

namespace roam {

bool RangeSet::add(uint64_t begin, uint64_t end) {
  if (begin >= end) return true;
  // Fast path: in-order arrival extends the last range.
  if (!ranges_.empty() && begin >= ranges_.back().begin && begin <= ranges_.back().end) {
    ranges_.back().end = std::max(ranges_.back().end, end);
    return true;
  }
  // [first, last) are the ranges that overlap or touch [begin, end).
  auto first = std::lower_bound(ranges_.begin(), ranges_.end(), begin,
                                [](const Range& r, uint64_t v) { return r.end < v; });
  auto last = std::upper_bound(first, ranges_.end(), end,
                               [](uint64_t v, const Range& r) { return v < r.begin; });
  if (first == last) {
    if (ranges_.size() >= max_ranges_) return false;
    ranges_.insert(first, Range{begin, end});
    return true;
  }
  first->begin = std::min(first->begin, begin);
  first->end = std::max((last - 1)->end, end);
  ranges_.erase(first + 1, last);
  return true;
}

void RangeSet::add_widening(uint64_t begin, uint64_t end) {
  if (add(begin, end)) return;
  // The set is full (so not empty) and [begin, end) touches no range. Join it
  // to the range before it, or when there is none, to the first one: either
  // way the added range touches an existing one, so add() cannot refuse it.
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), begin,
                                [](uint64_t v, const Range& r) { return v < r.begin; });
  if (after == ranges_.begin()) {
    (void)add(begin, ranges_.front().begin);
    (void)add(begin, end);
  } else {
    (void)add((after - 1)->end, end);
  }
}

void RangeSet::remove(uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), begin,
                             [](uint64_t v, const Range& r) { return v < r.end; });
  while (it != ranges_.end() && it->begin < end) {
    if (it->begin < begin && it->end > end) {
      // Strictly inside: split in two.
      const Range tail{end, it->end};
      it->end = begin;
      ranges_.insert(it + 1, tail);
      return;
    }
    if (it->begin < begin) {
      it->end = begin;
      ++it;
    } else if (it->end > end) {
      it->begin = end;
      return;
    } else {
      it = ranges_.erase(it);
    }
  }
}

void RangeSet::remove_below(uint64_t value) {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), value,
                             [](uint64_t v, const Range& r) { return v < r.end; });
  it = ranges_.erase(ranges_.begin(), it);
  if (it != ranges_.end() && it->begin < value) it->begin = value;
}

bool RangeSet::contains(uint64_t value) const { return contiguous_end(value) > value; }

uint64_t RangeSet::contiguous_end(uint64_t value) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), value,
                             [](uint64_t v, const Range& r) { return v < r.end; });
  if (it == ranges_.end() || it->begin > value) return value;
  return it->end;
}

}  // namespace roam
