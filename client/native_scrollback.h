// Copies the session's history into the local terminal's own scrollback, in
// order, so that the terminal's scrolling, search and selection hold every
// row that scrolled off the session's primary screen, as if the program ran
// here. The rows come from the server's history (through the HistoryCache),
// not from the frames, which skip whatever scrolled by between two of them.
//
// After a gap of more than max_lines (an outage, a flood), only the newest
// max_lines are copied, after a one-line marker saying how many were
// skipped; during a flood it waits for the output to pause, so one flood
// leaves one marker.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "client/history_cache.h"
#include "protocol/cell.h"

namespace roam::client {

class NativeScrollback {
 public:
  explicit NativeScrollback(uint64_t max_lines) : max_lines_(max_lines) {}

  // With the newest state's history [begin, end): asks the cache for what
  // comes next, and appends to `out` the rows ready to go into the
  // scrollback, split to `cols` columns. The first call starts at the newest
  // max_lines lines of the history that exists already.
  void update(uint64_t begin, uint64_t end, uint64_t now, int cols, HistoryCache& cache, std::vector<Row>& out);

  // When update() should run again though no new state came.
  std::optional<uint64_t> wake_at() const { return wake_at_; }
  // The next line to copy.
  uint64_t written() const { return written_; }

  // A flood is over once the history stood still this long.
  static constexpr uint64_t quiet_ms = 150;

 private:
  uint64_t max_lines_;
  bool started_ = false;
  uint64_t written_ = 0;
  uint64_t end_seen_ = 0, changed_at_ = 0;
  std::optional<uint64_t> wake_at_;
};

// A line for the scrollback saying what was left out.
Row scrollback_marker(uint64_t skipped, bool earlier);

// Splits `row` into pieces of at most `cols` columns (trailing default
// blanks dropped), as a terminal would wrap it, appending them to `out`.
void append_wrapped(const Row& row, int cols, std::vector<Row>& out);

}  // namespace roam::client
