#include "server/history_stream.h"

#include <fmt/format.h>

#include <algorithm>

#include "protocol/sgr.h"

namespace roam::server {

namespace {

constexpr uint64_t rows_per_read = 512;

// Trailing blank rows (the cursor's empty line included) are not part of a
// transcript.
std::vector<Row> transcript_rows(const Screen& screen) {
  int end = screen.rows();
  while (end > 0 && looks_blank(screen.row(end - 1))) --end;
  std::vector<Row> rows;
  for (int y = 0; y < end; ++y) rows.push_back(screen.row(y));
  return rows;
}

}  // namespace

HistoryStream::HistoryStream(const mux::Session& session, const Request& request)
    : ansi_(request.ansi),
      screen_(transcript_rows(session.terminal().screen())),
      history_end_(session.history().end()),
      grep_(!request.grep.empty()),
      next_(session.history().begin()),
      end_(history_end_ + screen_.size()) {
  if (request.lines > 0 && end_ - next_ > request.lines) next_ = end_ - request.lines;
  if (next_ == session.history().begin() && next_ > 0) note_ = fmt::format("[roam: {} older lines dropped]\n", next_);
  if (grep_) {
    mux::SearchOptions options;
    options.case_sensitive = !request.ignore_case;
    options.from = next_;
    lines_ = session.history().search(request.grep, options, screen_);
  }
}

std::vector<Row> HistoryStream::rows_at(const mux::Session& session, uint64_t first, uint64_t count) const {
  if (first >= history_end_) {
    const uint64_t y = first - history_end_;
    if (y >= screen_.size()) return {};
    const auto from = screen_.begin() + static_cast<ptrdiff_t>(y);
    return {from, from + static_cast<ptrdiff_t>(std::min<uint64_t>(count, screen_.size() - y))};
  }
  auto rows = session.history().read(first, std::min(count, history_end_ - first));
  return rows ? std::move(*rows) : std::vector<Row>{};
}

bool HistoryStream::produce(const mux::Session& session, size_t budget, std::string& out) {
  const size_t start = out.size();
  auto emit = [&](const Row& row, bool join_wrapped) {
    append_row_text(row, ansi_, out);
    if (!(join_wrapped && row.wrapped)) out += '\n';
  };
  out += note_;
  note_.clear();
  while (out.size() - start < budget) {
    if (grep_) {
      if (match_ == lines_.size()) break;
      for (const Row& row : rows_at(session, lines_[match_++], 1)) emit(row, false);
      continue;
    }
    if (next_ >= end_) break;
    if (const uint64_t begin = session.history().begin(); next_ < std::min(begin, history_end_)) {
      const uint64_t skipped = std::min(begin, history_end_) - next_;
      out += fmt::format("[roam: {} lines dropped while this was read]\n", skipped);
      next_ += skipped;
    }
    const auto rows = rows_at(session, next_, rows_per_read);
    if (rows.empty()) {
      next_ = end_;
      break;
    }
    next_ += rows.size();
    for (const Row& row : rows) emit(row, true);
  }
  return grep_ ? match_ < lines_.size() : next_ < end_;
}

}  // namespace roam::server
