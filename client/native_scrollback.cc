#include "client/native_scrollback.h"

#include <fmt/format.h>

#include <algorithm>

namespace roam::client {

void NativeScrollback::update(uint64_t begin, uint64_t end, uint64_t now, int cols, HistoryCache& cache,
                              std::vector<Row>& out) {
  wake_at_.reset();
  if (end != end_seen_) {
    end_seen_ = end;
    changed_at_ = now;
  }
  if (!started_) {
    started_ = true;
    written_ = std::max(begin, end - std::min(end, max_lines_));
    if (written_ > begin) out.push_back(scrollback_marker(written_ - begin, true));
  }
  written_ = std::max(written_, begin);  // lines the server dropped before we copied them
  if (end - std::min(end, written_) > max_lines_) {
    // Output still pouring in: wait for it to pause, then skip at once.
    if (now - changed_at_ < quiet_ms) {
      wake_at_ = changed_at_ + quiet_ms;
      return;
    }
    out.push_back(scrollback_marker(end - max_lines_ - written_, false));
    written_ = end - max_lines_;
  }
  cache.want(written_, std::min(end, written_ + 2 * HistoryCache::max_request));
  for (; written_ < end; ++written_) {
    const Row* row = cache.find(written_);
    if (!row) break;
    append_wrapped(*row, cols, out);
  }
}

Row scrollback_marker(uint64_t skipped, bool earlier) {
  const std::string text =
      earlier ? fmt::format("[roam: {} earlier lines are in the pager: Ctrl-^ [ ]", skipped)
              : fmt::format("[roam: {} lines skipped here; the pager has them all: Ctrl-^ [ ]", skipped);
  Row row;
  for (char c : text) row.cells.push_back(Cell{static_cast<uint32_t>(static_cast<unsigned char>(c)), {}, {}, attr_reverse, 1});
  return row;
}

void append_wrapped(const Row& row, int cols, std::vector<Row>& out) {
  const size_t n = used_cells(row);
  const size_t width = static_cast<size_t>(std::max(cols, 2));
  if (n <= width) {
    out.push_back(row);
    return;
  }
  for (size_t x = 0; x < n;) {
    size_t end = std::min(n, x + width);
    // A wide character does not split: it starts the next piece.
    if (end < n && row.cells[end - 1].width == 2) --end;
    Row piece;
    piece.cells.assign(row.cells.begin() + static_cast<std::ptrdiff_t>(x), row.cells.begin() + static_cast<std::ptrdiff_t>(end));
    for (const auto& [col, marks] : row.marks)
      if (col >= x && col < end) piece.marks.emplace_back(static_cast<uint16_t>(col - x), marks);
    out.push_back(std::move(piece));
    x = end;
  }
}

}  // namespace roam::client
