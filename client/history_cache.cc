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

bool HistoryCache::gone(uint64_t line) const {
  auto it = gone_.upper_bound(line);
  return it != gone_.begin() && line < std::prev(it)->second;
}

void HistoryCache::want(uint64_t from, uint64_t to, bool urgent) {
  const auto skip = [&](uint64_t line) { return lines_.contains(line) || waiting(line, line + 1) || gone(line); };
  uint64_t line = from;
  while (line < to) {
    // Skip what is here, on its way, or gone.
    if (skip(line)) {
      ++line;
      continue;
    }
    uint64_t end = line + 1;
    while (end < to && end - line < max_request && !skip(end)) ++end;
    const uint64_t id = request_(line, end, urgent);
    pending_[id] = {line, end};
    line = end;
  }
}

void HistoryCache::take(const HistoryReply& reply) {
  if (reply.kind != HistoryReply::Kind::lines) return;
  for (size_t i = 0; i < reply.rows.size(); ++i) lines_[reply.first + i] = reply.rows[i];
  evict();
  auto it = pending_.find(reply.request);
  if (it == pending_.end()) return;
  // Parts come in order: what lies before this one's end is answered, and
  // what lay between the last part and this one is gone.
  Pending& p = it->second;
  if (reply.first > p.from) gone_[p.from] = std::min(reply.first, p.to);
  p.from = std::max(p.from, reply.first + reply.rows.size());
  if (reply.complete && p.from < p.to) gone_[p.from] = p.to;
  if (reply.complete || p.from >= p.to) pending_.erase(it);
  while (gone_.size() > max_gone) gone_.erase(gone_.begin());
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
