#include "tests/tools/impairment.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace roam::relay;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint8_t> packet(std::uint32_t id, std::size_t size = 100) {
  std::vector<std::uint8_t> p(size, 0);
  for (int i = 0; i < 4; ++i) p[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(id >> (8 * i));
  return p;
}

std::uint32_t id_of(const std::vector<std::uint8_t>& p) {
  std::uint32_t id = 0;
  for (int i = 0; i < 4; ++i) id |= static_cast<std::uint32_t>(p[static_cast<std::size_t>(i)]) << (8 * i);
  return id;
}

struct Arrival {
  std::uint32_t id;
  Time at;
};

// Submits `count` packets, one every `gap`, and steps time 100 us at a time
// until everything is delivered, recording when each came out.
std::vector<Arrival> run(Link& link, int count, Time gap, std::size_t size = 100) {
  std::vector<Arrival> out;
  Time t{0};
  int submitted = 0;
  Time next_submit{0};
  while (submitted < count || link.next_due()) {
    if (submitted < count && t >= next_submit) {
      link.submit(t, packet(static_cast<std::uint32_t>(submitted), size));
      ++submitted;
      next_submit += gap;
    }
    for (const auto& p : link.pop_due(t)) out.push_back({id_of(p), t});
    t += 100us;
    REQUIRE(t < Time(std::chrono::seconds(600)));
  }
  return out;
}

Time submit_time(std::uint32_t id, Time gap) { return gap * id; }

}  // namespace

TEST_CASE("a perfect link delivers everything at once, in order") {
  Link link;
  const auto out = run(link, 100, 1ms);
  REQUIRE(out.size() == 100);
  for (std::uint32_t i = 0; i < 100; ++i) {
    CHECK(out[i].id == i);
    CHECK(out[i].at == submit_time(i, 1ms));
  }
  CHECK(link.stats().packets == 100);
  CHECK(link.stats().sent_packets == 100);
  CHECK(link.stats().dropped() == 0);
  CHECK(link.inflight_packets() == 0);
  CHECK(link.inflight_bytes() == 0);
}

TEST_CASE("delay holds every datagram for exactly the delay") {
  LinkParams p;
  p.delay_ms = 50;
  Link link(p);
  link.submit(Time{1000}, packet(1));
  CHECK(link.next_due() == Time{51'000});
  CHECK(link.pop_due(Time{50'999}).empty());
  const auto out = link.pop_due(Time{51'000});
  REQUIRE(out.size() == 1);
  CHECK(id_of(out[0]) == 1);
  CHECK_FALSE(link.next_due());
}

TEST_CASE("jitter adds 0..jitter of delay and keeps the order") {
  LinkParams p;
  p.delay_ms = 20;
  p.jitter_ms = 30;
  Link link(p, 7);
  const auto out = run(link, 500, 2ms);
  REQUIRE(out.size() == 500);
  Time max_extra{0};
  for (std::uint32_t i = 0; i < out.size(); ++i) {
    CHECK(out[i].id == i);  // never reordered by jitter alone
    const Time latency = out[i].at - submit_time(out[i].id, 2ms);
    CHECK(latency >= 20ms);
    max_extra = std::max(max_extra, latency - 20ms);
  }
  CHECK(max_extra > 15ms);  // the jitter is really there
  CHECK(max_extra <= 51ms);  // ... bounded by jitter plus the order-keeping wait
}

TEST_CASE("loss drops about the given share, the same ones for the same seed") {
  LinkParams p;
  p.loss = 0.3;
  Link a(p, 42), b(p, 42), c(p, 43);
  const auto out_a = run(a, 10'000, 100us);
  const auto out_b = run(b, 10'000, 100us);
  const auto out_c = run(c, 10'000, 100us);
  const double delivered = static_cast<double>(out_a.size()) / 10'000;
  CHECK(delivered > 0.67);
  CHECK(delivered < 0.73);
  CHECK(a.stats().dropped_loss == 10'000 - out_a.size());
  REQUIRE(out_a.size() == out_b.size());
  for (std::size_t i = 0; i < out_a.size(); ++i) CHECK(out_a[i].id == out_b[i].id);
  bool differs = out_a.size() != out_c.size();
  for (std::size_t i = 0; !differs && i < out_a.size(); ++i) differs = out_a[i].id != out_c[i].id;
  CHECK(differs);
}

TEST_CASE("duplication delivers some datagrams twice") {
  LinkParams p;
  p.dup = 0.2;
  Link link(p, 3);
  const auto out = run(link, 5000, 100us);
  CHECK(out.size() == 5000 + link.stats().duplicated);
  CHECK(link.stats().duplicated > 900);
  CHECK(link.stats().duplicated < 1100);
  CHECK(link.stats().sent_packets == out.size());
}

TEST_CASE("reordering lets later datagrams overtake the held ones") {
  LinkParams p;
  p.delay_ms = 10;
  p.reorder = 0.1;
  p.reorder_gap_ms = 5;
  Link link(p, 5);
  const auto out = run(link, 2000, 1ms);
  REQUIRE(out.size() == 2000);
  int inversions = 0;
  for (std::size_t i = 1; i < out.size(); ++i) inversions += out[i].id < out[i - 1].id;
  CHECK(link.stats().reordered > 150);
  CHECK(link.stats().reordered < 250);
  CHECK(inversions > 100);
  for (const auto& a : out) CHECK(a.at - submit_time(a.id, 1ms) >= 10ms);
}

TEST_CASE("a rate cap serialises datagrams and builds a queue") {
  LinkParams p;
  p.rate_kbit = 800;  // 100 bytes per ms
  Link link(p);
  // A burst of 10 x 1000 bytes at t=0: each takes 10 ms on the wire.
  for (std::uint32_t i = 0; i < 10; ++i) CHECK(link.submit(Time{0}, packet(i, 1000)) == 1);
  CHECK(link.backlog(Time{0}) == 100ms);
  Time t{0};
  std::vector<Arrival> out;
  while (link.next_due()) {
    for (const auto& pk : link.pop_due(t)) out.push_back({id_of(pk), t});
    t += 100us;
  }
  REQUIRE(out.size() == 10);
  for (std::uint32_t i = 0; i < 10; ++i) {
    CHECK(out[i].id == i);
    CHECK(out[i].at == Time(std::chrono::milliseconds(10 * (i + 1))));
  }
}

TEST_CASE("a rate cap's queue is bounded: a flood is tail-dropped") {
  LinkParams p;
  p.rate_kbit = 800;  // 100 bytes per ms
  p.queue_ms = 100;
  Link link(p);
  int accepted = 0;
  for (std::uint32_t i = 0; i < 1000; ++i) accepted += link.submit(Time{0}, packet(i, 1000));
  // 10 ms each; the 11th starts at 100 ms of backlog, the 12th would exceed it.
  CHECK(accepted == 11);
  CHECK(link.stats().dropped_queue == 989);
  CHECK(link.backlog(Time{0}) <= 110ms);

  LinkParams q;
  q.rate_kbit = 800;
  q.queue_bytes = 5000;
  Link by_bytes(q);
  int ok = 0;
  for (std::uint32_t i = 0; i < 100; ++i) ok += by_bytes.submit(Time{0}, packet(i, 1000));
  CHECK(ok == 5);
}

TEST_CASE("the rate cap drains: a slow sender is not queued") {
  LinkParams p;
  p.rate_kbit = 800;
  p.delay_ms = 5;
  Link link(p);
  const auto out = run(link, 100, 20ms, 1000);  // 10 ms of wire time every 20 ms
  REQUIRE(out.size() == 100);
  for (const auto& a : out) CHECK(a.at - submit_time(a.id, 20ms) == 15ms);
}

TEST_CASE("an outage drops everything until it ends") {
  Link link;
  link.outage(Time{1'000'000});
  CHECK(link.in_outage(Time{0}));
  CHECK(link.submit(Time{0}, packet(1)) == 0);
  CHECK(link.submit(Time{999'999}, packet(2)) == 0);
  CHECK_FALSE(link.in_outage(Time{1'000'000}));
  CHECK(link.submit(Time{1'000'000}, packet(3)) == 1);
  CHECK(link.stats().dropped_outage == 2);
  const auto out = link.pop_due(Time{1'000'000});
  REQUIRE(out.size() == 1);
  CHECK(id_of(out[0]) == 3);
}

TEST_CASE("what waits in the link is bounded") {
  LinkParams p;
  p.delay_ms = 1'000'000;
  Link link(p);
  std::size_t accepted = 0;
  for (std::uint32_t i = 0; i < Link::max_inflight_packets + 100; ++i) accepted += static_cast<std::size_t>(link.submit(Time{0}, packet(i, 10)));
  CHECK(accepted == Link::max_inflight_packets);
  CHECK(link.inflight_packets() == Link::max_inflight_packets);
  CHECK(link.stats().dropped_queue == 100);
}

TEST_CASE("parameters are set by name and checked") {
  LinkParams p;
  CHECK_FALSE(set_param(p, "delay", 120));
  CHECK(p.delay_ms == 120);
  CHECK_FALSE(set_param(p, "loss", 0.25));
  CHECK(p.loss == 0.25);
  CHECK_FALSE(set_param(p, "rate", 1000));
  CHECK(p.rate_kbit == 1000);
  CHECK(set_param(p, "loss", 1.5));
  CHECK(set_param(p, "delay", -1));
  CHECK(set_param(p, "colour", 1));
  CHECK(p.loss == 0.25);
}
