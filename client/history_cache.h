// The history lines the client has received from the server, kept by line
// number, and the requests for more that are still on their way. The pager
// and the native scrollback both read from it, so a line crosses the network
// once; want() asks only for what is neither here nor already asked for.
//
// The cache is bounded: past max_lines, the lines farthest from the last
// focus() go first.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>

#include "protocol/cell.h"
#include "protocol/host_state.h"

namespace roam::client {

class HistoryCache {
 public:
  // `request(from, to, urgent)` asks the server for lines [from, to) and
  // returns the request's number, which its replies name.
  using Request = std::function<uint64_t(uint64_t from, uint64_t to, bool urgent)>;
  HistoryCache(size_t max_lines, Request request) : max_lines_(max_lines), request_(std::move(request)) {}

  // Asks for the lines in [from, to) that are neither held nor asked for
  // nor known to be gone, in requests of at most max_request lines;
  // `urgent`: someone is waiting for them.
  void want(uint64_t from, uint64_t to, bool urgent = false);
  // Takes in the rows of a lines reply, to our requests or not (the server
  // sends the page around a search's match unasked).
  void take(const HistoryReply& reply);

  const Row* find(uint64_t line) const;
  // Every line of [from, to) is here.
  bool has(uint64_t from, uint64_t to) const;
  // Lines of [from, to) asked for and not yet answered.
  bool waiting(uint64_t from, uint64_t to) const;
  // Eviction keeps the lines near `line`.
  void focus(uint64_t line) { focus_ = line; }

  size_t size() const { return lines_.size(); }

  static constexpr uint64_t max_request = 512;

 private:
  struct Pending {
    uint64_t from, to;  // still expected: [from, to)
  };
  void evict();
  bool gone(uint64_t line) const;

  size_t max_lines_;
  Request request_;
  std::map<uint64_t, Row> lines_;
  std::map<uint64_t, Pending> pending_;  // by request number
  // Lines the server answered without (dropped from its history, or
  // corrupt): [first, end) by first, never asked for again. A few at most.
  std::map<uint64_t, uint64_t> gone_;
  static constexpr size_t max_gone = 64;
  uint64_t focus_ = 0;
};

}  // namespace roam::client
