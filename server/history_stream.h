// A session's transcript (history, then the live screen) as text for
// `roam history`, produced a chunk at a time so a long one never sits in
// memory whole. When what was asked for reaches back past the oldest line
// kept, the first line says so: "[roam: N older lines dropped]"; lines
// dropped while the transcript is read are announced where they were.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mux/session.h"
#include "protocol/cell.h"
#include "server/control_protocol.h"

namespace roam::server {

class HistoryStream {
 public:
  // What `request` (lines, grep, ansi) asks of `session` as it is now.
  HistoryStream(const mux::Session& session, const Request& request);

  // Appends the next part (about `budget` bytes) to `out`; false once all
  // has been produced. `session` is the same session, possibly changed since.
  bool produce(const mux::Session& session, size_t budget, std::string& out);

 private:
  std::vector<Row> rows_at(const mux::Session& session, uint64_t first, uint64_t count) const;

  bool ansi_;
  std::vector<Row> screen_;     // the screen when the request came, trailing blank rows left out
  uint64_t history_end_;        // where screen_ starts in line numbers
  bool grep_;
  std::vector<uint64_t> lines_;  // with grep: the matching lines
  size_t match_ = 0;
  uint64_t next_, end_;          // line numbers still to produce
  std::string note_;             // what comes first: how many older lines were dropped
};

}  // namespace roam::server
