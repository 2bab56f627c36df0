#include "protocol/stream_acks.h"

#include <doctest/doctest.h>

#include "protocol/stream_frames.h"

using namespace roam;

namespace {

std::vector<Range> ack_ranges(AckTracker& t, uint64_t now, size_t budget = 1000) {
  std::vector<uint8_t> out;
  wire::Writer w(out);
  if (!t.write_ack(w, budget, now)) return {};
  wire::Reader r(out);
  auto f = decode_frame(r);
  REQUIRE(f);
  std::vector<Range> ranges;
  AckRangeReader reader(f->ack);
  for (Range x; reader.next(x);) ranges.push_back(x);
  return ranges;
}

}  // namespace

TEST_CASE("an ack is due after two packets at first, or after the delay") {
  AckTracker t;
  t.on_packet(0, true, 1000);
  CHECK_FALSE(t.ack_due(1000));
  CHECK(t.deadline() == 1000 + stream_timing::max_ack_delay_us);
  CHECK(t.ack_due(1000 + stream_timing::max_ack_delay_us));
  t.on_packet(1, true, 1100);
  CHECK(t.ack_due(1100));
  CHECK(ack_ranges(t, 1200) == std::vector<Range>{{0, 2}});
  CHECK_FALSE(t.ack_due(1200));
  // Non-eliciting packets (ACK-only) make no ack due, but are reported.
  t.on_packet(2, false, 1300);
  CHECK_FALSE(t.ack_due(100'000));
  CHECK(t.has_unreported());
}

TEST_CASE("later, every eighth packet; a gap at once") {
  AckTracker t;
  uint64_t n = 0;
  for (; n < 100; ++n) t.on_packet(n, true, 1000);
  (void)ack_ranges(t, 1000);
  for (int i = 0; i < 7; ++i) t.on_packet(n++, true, 1000);
  CHECK_FALSE(t.ack_due(1000));
  t.on_packet(n++, true, 1000);
  CHECK(t.ack_due(1000));
  (void)ack_ranges(t, 1000);
  t.on_packet(n + 5, true, 1000);  // a gap: a loss the sender should hear of
  CHECK(t.ack_due(1000));
}

TEST_CASE("ranges newest first, within the budget; duplicates known") {
  AckTracker t;
  for (uint64_t n : {0, 1, 2, 5, 6, 9}) t.on_packet(n, true, 1000);
  CHECK(t.is_new(3));
  CHECK_FALSE(t.is_new(5));
  CHECK(ack_ranges(t, 1000) == std::vector<Range>{{9, 10}, {5, 7}, {0, 3}});
  for (uint64_t n : {11, 13, 15}) t.on_packet(n, true, 1000);
  // A small budget reports only the newest ranges.
  const auto few = ack_ranges(t, 1000, 9);
  REQUIRE_FALSE(few.empty());
  CHECK(few.front() == Range{15, 16});
  CHECK(few.size() < 6);
}

TEST_CASE("once the peer has our ack, older numbers are not reported again") {
  AckTracker t;
  for (uint64_t n : {0, 1, 3, 4, 6}) t.on_packet(n, true, 1000);
  (void)ack_ranges(t, 1000);
  t.on_ack_acked(4);
  t.on_packet(7, true, 2000);
  CHECK(ack_ranges(t, 2000) == std::vector<Range>{{6, 8}});
  CHECK_FALSE(t.is_new(2));  // forgotten numbers count as old
}

TEST_CASE("attack: scattered packet numbers keep the tracker bounded") {
  AckTracker t;
  for (uint64_t n = 0; n < 100'000; n += 2) t.on_packet(n, true, 1000);
  CHECK(t.largest() == 99'998);
  CHECK_FALSE(t.is_new(0));
  CHECK(t.is_new(99'997));
  CHECK(ack_ranges(t, 1000).size() == AckTracker::reported_ranges);
}
