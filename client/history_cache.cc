#include "client/history_cache.h"

#include <algorithm>

namespace roam::client {

bool HistoryCache::waiting(uint64_t from, uint64_t to) const {
  return std::any_of(pending_.begin(), pending_.end(),
                     [&](const auto& p) { return p.second.from < to && from < p.second.to; });
}

bool HistoryCache::has(uint64_t from, uint64_t to) const {
  if (from >= to) return true;
  auto it = lines_.find(from);
  for (uint64_t line = from; line < to; ++line, ++it)
    if (it == lines_.end() || it->first != line) return false;
  return true;
}

const Row* HistoryCache::find(uint64_t line) const {
  auto it = lines_.find(line);
  return it == lines_.end() ? nullptr : &it->second;
}

void HistoryCache::want(uint64_t from, uint64_t to) {
  uint64_t line = from;
  while (line < to) {
    // Skip what is here or on its way.
    if (lines_.contains(line) || waiting(line, line + 1)) {
      ++line;
      continue;
    }
    uint64_t end = line + 1;
    while (end < to && end - line < max_request && !lines_.contains(end) && !waiting(end, end + 1)) ++end;
    const uint64_t id = request_(line, end);
    pending_[id] = {line, end};
    ++requests_;
    line = end;
  }
}

void HistoryCache::take(const HistoryReply& reply) {
  auto it = pending_.find(reply.request);
  if (it == pending_.end() || reply.kind != HistoryReply::Kind::lines) return;
  for (size_t i = 0; i < reply.rows.size(); ++i) lines_[reply.first + i] = reply.rows[i];
  // Parts come in order: what lies before this one's end is answered.
  it->second.from = std::max(it->second.from, reply.first + reply.rows.size());
  if (reply.complete || it->second.from >= it->second.to) pending_.erase(it);
  evict();
}

void HistoryCache::evict() {
  while (lines_.size() > max_lines_) {
    const uint64_t low = lines_.begin()->first, high = lines_.rbegin()->first;
    if (focus_ - std::min(focus_, low) >= std::max(focus_, high) - focus_)
      lines_.erase(lines_.begin());
    else
      lines_.erase(std::prev(lines_.end()));
  }
}

}  // namespace roam::client
