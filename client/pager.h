// The history pager (Ctrl-^ [): a full-screen view of the session's history
// and of its screen as it was when the pager opened, with less/tmux keys,
// search, and copying lines to the local clipboard. New output does not
// move the view; history that grows meanwhile is added below it. Lines come from the HistoryCache, which fetches them from
// the server as the view moves; the pager asks for the lines around the
// view as well, so paging back over what was seen needs no round trip.
//
// Keys: PgUp/PgDn (also b, f, space), Up/Down and k/j, g/G and Home/End,
// Ctrl-U/Ctrl-D half pages, the mouse wheel; / and ? search forward and
// back, n and N for the next and previous match (searches wrap around the
// ends); v marks a range, y copies it (or the current line); q or Esc leaves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/history_cache.h"
#include "client/keys.h"
#include "client/pager_search.h"
#include "protocol/screen.h"

namespace roam::client {

class Pager {
 public:
  // `screen` is the session's screen now; history [begin, end) is on the
  // server. The view opens at the bottom, the current line at the cursor's.
  Pager(const Screen& screen, uint64_t begin, uint64_t end, int cols, int rows, HistoryCache& cache,
        PagerSearch::Request search);

  // Keys typed while the pager is open. Returns false once it closes.
  bool keys(std::string_view bytes);
  // A reply to a search request (others are ignored).
  void take(const HistoryReply& reply);
  void set_begin(uint64_t begin);
  // History grew while the pager is open: its lines become reachable, the
  // screen rows after them are `screen`'s now. The view stays on its lines.
  void set_end(uint64_t end, const Screen& screen);
  void resize(int cols, int rows);

  // The frame to draw; asks the cache for the lines it shows and those around.
  const Screen& render();

  // Text copied with y since the last call, for OSC 52.
  std::optional<std::string> take_copy();

  uint64_t total() const { return end_ + screen_rows_.size(); }

 private:
  int page() const { return std::max(1, rows_ - 1); }
  void move_cursor(int64_t by);
  void scroll_view(int64_t by);
  void place(uint64_t line);  // cursor to `line`, the view following it
  void key(const Key& k);
  void prompt_key(const Key& k);
  void begin_search(bool backward);
  void show_search_result();  // moves to the match once the search has one
  void copy();
  void keep_screen(const Screen& screen);
  const Row* line(uint64_t n) const;

  HistoryCache& cache_;
  PagerSearch search_;
  uint64_t begin_, end_;
  std::vector<Row> screen_rows_;  // lines end_, end_ + 1, ...: the screen at opening
  int cols_, rows_;
  uint64_t top_ = 0, cursor_ = 0;
  std::optional<uint64_t> mark_;
  bool open_ = true;

  std::optional<std::u32string> prompt_;  // typing a search
  bool prompt_backward_ = false;
  std::u32string last_needle_;
  bool last_backward_ = false;
  bool placed_result_ = true;  // the current search's result has moved the cursor
  bool search_wrapped_ = false;  // it started at the other end: from the last line on, or back from the first
  std::optional<uint64_t> current_match_;  // the line the last search found
  std::string message_;

  std::optional<std::pair<uint64_t, uint64_t>> copy_wanted_;  // lines [first, last]
  Screen frame_;
};

}  // namespace roam::client
