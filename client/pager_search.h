// Search in the pager: the server searches the history it holds (over the
// network, as part of the synchronised state), the client the screen rows it
// kept when the pager opened. Searches wrap around the ends, as tmux's do.
// The last answer from the server is kept, so `n` through its matches costs
// no round trip.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/cell.h"
#include "protocol/host_state.h"

namespace roam::client {

// Where `needle` occurs in `row`: [first, last) cell columns of each match.
// Without `case_sensitive`, ASCII letters match either case.
std::vector<std::pair<int, int>> find_in_row(const Row& row, std::u32string_view needle, bool case_sensitive);

class PagerSearch {
 public:
  // Asks the server to search its history; returns the request's number.
  using Request = std::function<uint64_t(const std::string& needle, uint64_t from, uint64_t to, bool backward,
                                         bool case_sensitive)>;
  // The pager's lines: history [begin, end) on the server, then `screen`,
  // the rows kept locally as lines end, end + 1...
  PagerSearch(Request request, uint64_t begin, uint64_t end, const std::vector<Row>* screen)
      : request_(std::move(request)), begin_(begin), end_(end), screen_(screen) {}

  // Searches from line `from` (included) on, or with `backward` back from
  // it. Lowercase-only needles match either case (smart case).
  void start(const std::u32string& needle, bool backward, uint64_t from);
  void take(const HistoryReply& reply);
  void set_begin(uint64_t begin) { begin_ = std::max(begin_, begin); }
  // History grew to `end`; the screen rows now follow it. Not while a
  // search is under way, whose stretches count on the old boundary.
  void set_end(uint64_t end) { end_ = std::max(end_, end); }

  struct Found {
    std::optional<uint64_t> line;  // none: no match anywhere
    bool wrapped = false;
  };
  // The answer, once there is one (then until the next start()).
  std::optional<Found> result() const { return result_; }
  bool searching() const { return !result_ && active_; }
  const std::u32string& needle() const { return needle32_; }
  bool case_sensitive() const { return case_sensitive_; }

 private:
  // One stretch of lines to examine, in search order: [lo, hi] inclusive.
  struct Part {
    bool server;
    uint64_t lo, hi;
    bool wrapped;
  };
  void run();
  std::optional<uint64_t> scan_local(const Part& p) const;
  // From the kept server answer: the match in `p`, or none; unknown when
  // the answer does not settle `p`, which is then cut to what it leaves open.
  std::optional<std::optional<uint64_t>> from_known(Part& p) const;

  Request request_;
  uint64_t begin_, end_;
  const std::vector<Row>* screen_;

  std::string needle_;
  std::u32string needle32_;
  bool backward_ = false, case_sensitive_ = false, active_ = false;
  std::vector<Part> parts_;
  size_t next_part_ = 0;
  std::optional<uint64_t> waiting_for_;  // request number
  std::optional<Found> result_;

  // The last server answer: the needle and direction it was for, and what
  // it settles: every match in [lo, hi].
  struct Known {
    std::string needle;
    bool backward = false, case_sensitive = false;
    uint64_t lo = 0, hi = 0;
    std::vector<uint64_t> matches;
  };
  std::optional<Known> known_;
};

}  // namespace roam::client
