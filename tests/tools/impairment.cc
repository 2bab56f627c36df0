#include "tests/tools/impairment.h"

#include <algorithm>
#include <cmath>

namespace roam::relay {

namespace {

Time from_ms(double ms) { return Time(static_cast<std::int64_t>(std::llround(ms * 1000.0))); }

// splitmix64: small, fast, and the same sequence on every platform.
std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::optional<std::string> set_param(LinkParams& p, const std::string& name, double value) {
  if (!std::isfinite(value) || value < 0) return "the value of " + name + " must be a number >= 0";
  auto probability = [&](double& field) -> std::optional<std::string> {
    if (value > 1) return name + " is a probability: 0..1";
    field = value;
    return std::nullopt;
  };
  if (name == "delay") p.delay_ms = value;
  else if (name == "jitter") p.jitter_ms = value;
  else if (name == "loss") return probability(p.loss);
  else if (name == "dup") return probability(p.dup);
  else if (name == "reorder") return probability(p.reorder);
  else if (name == "reorder-gap") p.reorder_gap_ms = value;
  else if (name == "rate") p.rate_kbit = value;
  else if (name == "queue-ms") p.queue_ms = value;
  else if (name == "queue-bytes") p.queue_bytes = static_cast<std::size_t>(value);
  else return "unknown link parameter '" + name + "'";
  return std::nullopt;
}

Link::Link(LinkParams params, std::uint64_t seed) : params_(params), rng_state_(seed) {}

double Link::uniform() { return static_cast<double>(next_random(rng_state_) >> 11) * 0x1.0p-53; }

int Link::submit(Time now, std::vector<std::uint8_t> data) {
  const std::size_t size = data.size();
  ++stats_.packets;
  stats_.bytes += size;
  if (in_outage(now)) {
    ++stats_.dropped_outage;
    return 0;
  }
  if (chance(params_.loss)) {
    ++stats_.dropped_loss;
    return 0;
  }
  if (pending_.size() >= max_inflight_packets || pending_bytes_ + size > max_inflight_bytes) {
    ++stats_.dropped_queue;
    return 0;
  }

  Time sent = now;  // when the last bit has left the sender
  if (params_.rate_kbit > 0) {
    const Time start = std::max(now, link_free_);
    const Time backlog = start - now;
    const double backlog_bytes = static_cast<double>(backlog.count()) * params_.rate_kbit / 8000.0;
    if (backlog > from_ms(params_.queue_ms) ||
        (params_.queue_bytes > 0 && backlog_bytes + static_cast<double>(size) > static_cast<double>(params_.queue_bytes))) {
      ++stats_.dropped_queue;
      return 0;
    }
    // size*8 bits at rate_kbit*1000 bit/s, in microseconds.
    sent = start + from_ms(static_cast<double>(size) * 8.0 / params_.rate_kbit);
    link_free_ = sent;
  }

  Time due = sent + from_ms(params_.delay_ms);
  if (params_.jitter_ms > 0) due += from_ms(uniform() * params_.jitter_ms);
  if (chance(params_.reorder)) {
    ++stats_.reordered;
    due += from_ms(params_.reorder_gap_ms);
  } else {
    due = std::max(due, last_in_order_);
    last_in_order_ = due;
  }

  int copies = 1;
  if (chance(params_.dup)) {
    ++stats_.duplicated;
    enqueue(due, data);
    copies = 2;
  }
  enqueue(due, std::move(data));
  return copies;
}

void Link::enqueue(Time due, std::vector<std::uint8_t> data) {
  pending_bytes_ += data.size();
  pending_.push(Pending{due, next_order_++, std::move(data)});
}

std::optional<Time> Link::next_due() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.top().due;
}

std::vector<std::vector<std::uint8_t>> Link::pop_due(Time now) {
  std::vector<std::vector<std::uint8_t>> out;
  while (!pending_.empty() && pending_.top().due <= now) {
    // priority_queue::top() is const; the element is popped right away, so moving it out is safe.
    auto& top = const_cast<Pending&>(pending_.top());
    std::vector<std::uint8_t> data = std::move(top.data);
    pending_.pop();
    pending_bytes_ -= data.size();
    ++stats_.sent_packets;
    stats_.sent_bytes += data.size();
    out.push_back(std::move(data));
  }
  return out;
}

}  // namespace roam::relay
