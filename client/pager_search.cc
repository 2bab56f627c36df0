#include "client/pager_search.h"

#include <algorithm>

#include "protocol/utf8.h"

namespace roam::client {

namespace {

char32_t fold(char32_t c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

}  // namespace

std::vector<std::pair<int, int>> find_in_row(const Row& row, std::u32string_view needle, bool case_sensitive) {
  std::vector<std::pair<int, int>> found;
  if (needle.empty()) return found;
  // The row's characters with the column each starts at.
  std::u32string text;
  std::vector<int> col;
  for (size_t x = 0; x < row.cells.size(); ++x) {
    const Cell& c = row.cells[x];
    if (c.ch == Cell::wide_tail) continue;
    const char32_t ch = c.ch == 0 ? U' ' : static_cast<char32_t>(c.ch);
    text.push_back(case_sensitive ? ch : fold(ch));
    col.push_back(static_cast<int>(x));
  }
  col.push_back(static_cast<int>(row.cells.size()));
  std::u32string want(needle);
  if (!case_sensitive) std::transform(want.begin(), want.end(), want.begin(), fold);
  for (size_t at = text.find(want); at != std::u32string::npos; at = text.find(want, at + want.size()))
    found.emplace_back(col[at], col[at + want.size()]);
  return found;
}

void PagerSearch::start(const std::u32string& needle, bool backward, uint64_t from) {
  needle32_ = needle;
  needle_.clear();
  for (char32_t c : needle) append_utf8(static_cast<uint32_t>(c), needle_);
  backward_ = backward;
  case_sensitive_ = std::any_of(needle.begin(), needle.end(), [](char32_t c) { return c >= 'A' && c <= 'Z'; });
  active_ = true;
  result_.reset();
  waiting_for_.reset();
  parts_.clear();
  next_part_ = 0;
  const uint64_t total = end_ + screen_->size();
  if (needle.empty() || total <= begin_) {
    result_ = Found{};
    return;
  }
  const uint64_t at = std::clamp(from, begin_, total - 1);
  // A stretch [lo, hi] as its server part (lines before end_) and its local part.
  const auto add = [&](uint64_t lo, uint64_t hi, bool wrapped) {
    if (lo > hi) return;
    const bool has_server = lo < end_, has_local = hi >= end_;
    const Part server{true, lo, std::min(hi, end_ - 1), wrapped};
    const Part local{false, std::max(lo, end_), hi, wrapped};
    if (backward_) {
      if (has_local) parts_.push_back(local);
      if (has_server) parts_.push_back(server);
    } else {
      if (has_server) parts_.push_back(server);
      if (has_local) parts_.push_back(local);
    }
  };
  if (backward_) {
    add(begin_, at, false);
    if (at + 1 < total) add(at + 1, total - 1, true);
  } else {
    add(at, total - 1, false);
    if (at > begin_) add(begin_, at - 1, true);
  }
  run();
}

void PagerSearch::run() {
  while (next_part_ < parts_.size()) {
    Part& p = parts_[next_part_];
    if (!p.server) {
      if (auto line = scan_local(p)) {
        result_ = Found{line, p.wrapped};
        return;
      }
      ++next_part_;
      continue;
    }
    if (auto known = from_known(p)) {
      if (*known) {
        result_ = Found{*known, p.wrapped};
        return;
      }
      ++next_part_;
      continue;
    }
    // Backward, the server looks down from p.hi; what it finds below p.lo
    // is left out here.
    waiting_for_ = backward_ ? request_(needle_, p.hi, p.hi + 1, true, case_sensitive_)
                             : request_(needle_, p.lo, p.hi + 1, false, case_sensitive_);
    return;
  }
  result_ = Found{};
}

void PagerSearch::take(const HistoryReply& reply) {
  if (!waiting_for_ || reply.request != *waiting_for_ || reply.kind != HistoryReply::Kind::matches) return;
  waiting_for_.reset();
  const Part& p = parts_[next_part_];
  Known k;
  k.needle = needle_;
  k.backward = backward_;
  k.case_sensitive = case_sensitive_;
  k.matches = reply.matches;
  if (backward_) {
    k.hi = p.hi;
    k.lo = reply.complete || k.matches.empty() ? 0 : k.matches.back();
  } else {
    k.lo = p.lo;
    k.hi = reply.complete || k.matches.empty() ? p.hi : k.matches.back();
  }
  known_ = std::move(k);
  run();
}

std::optional<std::optional<uint64_t>> PagerSearch::from_known(Part& p) const {
  if (!known_ || known_->needle != needle_ || known_->backward != backward_ ||
      known_->case_sensitive != case_sensitive_)
    return std::nullopt;
  const Known& k = *known_;
  if (!backward_) {
    if (p.lo < k.lo || p.lo > k.hi) return std::nullopt;
    auto m = std::lower_bound(k.matches.begin(), k.matches.end(), p.lo);
    if (m != k.matches.end() && *m <= p.hi) return std::optional<uint64_t>(*m);
    if (k.hi >= p.hi) return std::optional<uint64_t>();
    p.lo = k.hi + 1;
  } else {
    if (p.hi > k.hi || p.hi < k.lo) return std::nullopt;
    auto m = std::find_if(k.matches.begin(), k.matches.end(), [&](uint64_t line) { return line <= p.hi; });
    if (m != k.matches.end() && *m >= p.lo) return std::optional<uint64_t>(*m);
    if (k.lo <= p.lo) return std::optional<uint64_t>();
    p.hi = k.lo - 1;
  }
  return std::nullopt;
}

std::optional<uint64_t> PagerSearch::scan_local(const Part& p) const {
  const auto hit = [&](uint64_t line) { return !find_in_row((*screen_)[line - end_], needle32_, case_sensitive_).empty(); };
  if (backward_) {
    for (uint64_t line = p.hi + 1; line-- > p.lo;)
      if (hit(line)) return line;
  } else {
    for (uint64_t line = p.lo; line <= p.hi; ++line)
      if (hit(line)) return line;
  }
  return std::nullopt;
}

}  // namespace roam::client
