// History's search: the needle is found in rows' stored text (see
// history_rows.h), block by block, without decoding a row.
#include <cstring>

#include "mux/history.h"
#include "mux/history_rows.h"

namespace roam::mux {
namespace {

// Copies `in` to `out` with ASCII letters in lower case and every other byte
// (UTF-8 included) unchanged, eight bytes at a time: a full search folds all
// of history.
void fold(std::string_view in, std::string& out) {
  out.resize(in.size());
  constexpr uint64_t ones = 0x0101010101010101, high = 0x80 * ones;
  size_t i = 0;
  for (; i + 8 <= in.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, in.data() + i, 8);
    // Per byte, with the top bit cleared so no sum carries into the next:
    // bit 7 of ge_a says >= 'A', of gt_z says > 'Z'.
    const uint64_t low7 = x & ~high;
    const uint64_t ge_a = low7 + (0x80 - 'A') * ones;
    const uint64_t gt_z = low7 + (0x7f - 'Z') * ones;
    const uint64_t upper = (ge_a ^ gt_z) & ~x & high;
    x |= upper >> 2;
    std::memcpy(out.data() + i, &x, 8);
  }
  for (; i < in.size(); ++i) {
    const auto u = static_cast<uint8_t>(in[i]);
    out[i] = static_cast<char>(u | (static_cast<uint8_t>(u - 'A') < 26) << 5);
  }
}

// How many '\n' bytes `s` holds, eight bytes at a time: searches for a
// common word count the lines between its hits across all of history.
uint64_t count_newlines(std::string_view s) {
  constexpr uint64_t ones = 0x0101010101010101, low7 = 0x7f * ones;
  uint64_t n = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    x ^= '\n' * ones;  // newlines become zero bytes, then 1s in `zeros`
    const uint64_t zeros = ~(((x & low7) + low7) | x | low7) >> 7;
    n += zeros * ones >> 56;  // the sum of the bytes lands in the top one
  }
  for (; i < s.size(); ++i) n += s[i] == '\n';
  return n;
}

// Finds the lines holding a needle in encoded text: rows, each ended by
// '\n', numbered from the segment's first line.
class Matcher {
 public:
  Matcher(std::string_view needle, const SearchOptions& options)
      : needle_(needle), options_(options) {
    if (!options.case_sensitive) fold(needle, needle_);
  }

  // Appends to `found`, in the search's direction, the matching lines of
  // `text` that lie in [lo, hi). False once `found` is full.
  bool scan(std::string_view text, uint64_t first, uint64_t lo, uint64_t hi,
            std::vector<uint64_t>& found) {
    uint64_t line = std::max(lo, first);
    size_t pos = 0;
    for (uint64_t skip = line - first; skip > 0; --skip) {
      pos = text.find('\n', pos);
      if (pos == std::string_view::npos) return true;
      ++pos;
    }
    std::string_view hay = text.substr(pos);
    if (!options_.case_sensitive) {
      fold(hay, folded_);
      hay = folded_;
    }
    std::vector<uint64_t>& out = options_.backward ? batch_ : found;
    batch_.clear();
    for (pos = 0; line < hi;) {
      const void* hit = memmem(hay.data() + pos, hay.size() - pos, needle_.data(), needle_.size());
      if (!hit) break;
      const size_t at = static_cast<size_t>(static_cast<const char*>(hit) - hay.data());
      line += count_newlines(hay.substr(pos, at - pos));
      if (line >= hi) break;
      out.push_back(line);
      if (!options_.backward && found.size() >= options_.max_results) return false;
      pos = hay.find('\n', at);
      if (pos == std::string_view::npos) break;
      ++pos;
      ++line;
    }
    for (auto it = batch_.rbegin(); it != batch_.rend(); ++it) {
      found.push_back(*it);
      if (found.size() >= options_.max_results) return false;
    }
    return true;
  }

 private:
  std::string needle_;
  const SearchOptions& options_;
  std::string folded_;
  std::vector<uint64_t> batch_;
};

}  // namespace

std::string row_text(const Row& row) {
  std::string text;
  append_text(row, text);
  text.pop_back();
  return text;
}

std::vector<uint64_t> History::search(std::string_view needle, const SearchOptions& options,
                                      std::span<const Row> screen) const {
  std::vector<uint64_t> found;
  if (needle.empty() || needle.find('\n') != std::string_view::npos || options.max_results == 0) {
    return found;
  }
  std::string screen_text;
  for (const Row& row : screen) append_text(row, screen_text);
  const uint64_t screen_end = end_ + screen.size();
  // Lines examined: [lo, hi). The oldest block may hold dropped lines before begin_.
  const uint64_t lo = std::max(options.backward ? 0 : options.from, begin_);
  const uint64_t hi = options.backward && options.from < screen_end ? options.from + 1 : screen_end;
  if (lo >= hi) return found;

  Matcher matcher(needle, options);
  auto scan_block = [&](size_t index) {
    auto seg = segment(index);
    return !seg || matcher.scan(seg->text, seg->first_line, lo, hi, found);
  };
  if (options.backward) {
    if (hi > end_ && !matcher.scan(screen_text, end_, lo, hi, found)) return found;
    if (end_ == begin_) return found;
    for (size_t index = block_index(std::min(hi, end_) - 1) + 1; index-- > 0;) {
      if (!scan_block(index)) break;
    }
  } else {
    if (lo < end_) {
      for (size_t index = block_index(lo); index <= blocks_.size(); ++index) {
        if (!scan_block(index)) return found;
      }
    }
    matcher.scan(screen_text, end_, lo, hi, found);
  }
  return found;
}

}  // namespace roam::mux
