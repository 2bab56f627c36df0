// StreamSession: what the application sees, the windows and caps that bound
// memory, and a hostile peer's packets (counted drops, never a crash or
// unbounded memory). The network is tests/unit/stream_sim.h's link model.
#include "protocol/stream_session.h"

#include <doctest/doctest.h>

#include "protocol/ledbat.h"
#include "tests/unit/stream_sim.h"

using namespace roam;
using namespace roam::test;

namespace {

relay::LinkParams path(double delay_ms, double rate_kbit = 0) {
  relay::LinkParams p;
  p.delay_ms = delay_ms;
  p.rate_kbit = rate_kbit;
  return p;
}

// Builds one packet from frames written by `frames`.
template <class F>
std::vector<uint8_t> packet(uint64_t number, F&& frames) {
  std::vector<uint8_t> out;
  wire::Writer w(out);
  encode_packet_header(w, number);
  frames(w);
  return out;
}

std::vector<uint8_t> stream_packet(uint64_t number, uint64_t id, uint64_t offset, std::span<const uint8_t> data,
                                   bool fin = false) {
  return packet(number, [&](wire::Writer& w) {
    encode_stream_header(w, id, offset, data.size(), fin);
    w.raw(data);
  });
}

uint64_t drops(const StreamSession& s, StreamDrop d) { return s.counters().drops[static_cast<size_t>(d)]; }

constexpr uint64_t now0 = 1'000'000;
const std::vector<uint8_t> hello = {'h', 'e', 'l', 'l', 'o'};

}  // namespace

TEST_CASE("a stream carries bytes both ways, half-closes, and is forgotten at both ends") {
  StreamSim sim(path(5), path(5));
  sim.client_app.active = sim.server_app.active = false;
  auto id = sim.client.open();
  REQUIRE(id);
  CHECK(*id % 2 == 0);  // client-opened ids are even
  CHECK(sim.client.write(*id, hello) == hello.size());
  sim.client.finish(*id);
  // The server sees the stream with its first bytes in one event.
  StreamEvent e;
  REQUIRE(sim.run(sim.now + 1'000'000, [&] { return sim.server.poll(e); }));
  CHECK(e.kind == StreamEvent::Kind::opened);
  CHECK(e.stream == *id);
  std::vector<uint8_t> got(100);
  got.resize(sim.server.read(*id, got));
  CHECK(got == hello);
  CHECK(sim.server.at_eof(*id));
  // The other direction is still open: the server answers, then closes it.
  const std::vector<uint8_t> reply = {'o', 'k'};
  CHECK(sim.server.write(*id, reply) == 2);
  sim.server.finish(*id);
  bool client_closed = false, server_closed = false;
  std::vector<uint8_t> back;
  REQUIRE(sim.run(sim.now + 1'000'000, [&] {
    while (sim.client.poll(e)) {
      if (e.kind == StreamEvent::Kind::readable) {
        std::vector<uint8_t> buf(100);
        buf.resize(sim.client.read(*id, buf));
        back.insert(back.end(), buf.begin(), buf.end());
      }
      client_closed |= e.kind == StreamEvent::Kind::closed;
    }
    while (sim.server.poll(e)) server_closed |= e.kind == StreamEvent::Kind::closed;
    return client_closed && server_closed;
  }));
  CHECK(back == reply);
  CHECK(sim.client.counters().open_streams == 0);
  CHECK(sim.server.counters().open_streams == 0);
  CHECK(sim.client.counters().buffered_bytes == 0);
  CHECK(sim.server.counters().buffered_bytes == 0);
}

TEST_CASE("a reset reaches the peer and ends the stream at both ends") {
  StreamSim sim(path(5), path(5));
  sim.client_app.active = sim.server_app.active = false;
  const uint64_t id = *sim.client.open();
  REQUIRE(sim.client.write(id, hello) == hello.size());
  StreamEvent e;
  REQUIRE(sim.run(sim.now + 1'000'000, [&] { return sim.server.poll(e); }));
  REQUIRE(e.kind == StreamEvent::Kind::opened);
  // The server's end refuses (the far side of a forward did not connect).
  sim.server.reset(id, 7);
  std::optional<StreamEvent> reset;
  REQUIRE(sim.run(sim.now + 1'000'000, [&] {
    while (sim.client.poll(e))
      if (e.kind == StreamEvent::Kind::reset) reset = e;
    return reset && sim.client.counters().open_streams == 0 && sim.server.counters().open_streams == 0;
  }));
  CHECK(reset->stream == id);
  CHECK(reset->code == 7);
  CHECK(sim.client.write(id, hello) == 0);
}

TEST_CASE("streams reset with data unread do not leak connection credit") {
  StreamSim sim(path(5), path(5));
  sim.server_app.active = false;  // the test reads (or rather does not) for the server
  const StreamConfig config;
  // Each stream carries a quarter of the connection window, which the server
  // resets unread: without the final sizes counted, credit would run out.
  const uint64_t each = config.initial_connection_window / 4;
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    const uint64_t id = sim.client_app.send(each);
    sim.client_app.finish_after_eof = false;
    REQUIRE(sim.run(sim.now + 10'000'000, [&] { return sim.client_app.out[id].written == each; }));
    StreamEvent e;
    REQUIRE(sim.run(sim.now + 10'000'000, [&] { return sim.server.poll(e) && e.kind == StreamEvent::Kind::opened; }));
    sim.server.reset(e.stream, 1);
    REQUIRE(sim.run(sim.now + 10'000'000, [&] { return sim.client.counters().open_streams == 0; }));
    sim.client_app.out.erase(id);
  }
  CHECK(sim.client.writable(*sim.client.open()) > 0);
}

TEST_CASE("attack: a slow reader holds the sender's memory to the window") {
  StreamSim sim(path(10), path(10));
  sim.server_app.read_per_ms = 10;  // 10 kB/s
  const uint64_t id = sim.client_app.send(uint64_t{1} << 30);
  uint64_t sender_peak = 0, receiver_peak = 0;
  sim.each_step = [&] {
    sender_peak = std::max(sender_peak, sim.client.counters().buffered_bytes);
    receiver_peak = std::max(receiver_peak, sim.server.counters().buffered_bytes);
  };
  REQUIRE_FALSE(sim.run(sim.now + 20'000'000, [] { return false; }));
  const StreamConfig config;
  MESSAGE("sender holds at most " << sender_peak << " bytes, receiver " << receiver_peak << "; "
                                  << sim.client_app.out[id].written << " written in 20 s");
  // The window never grew (the reader is slow): one window, rounded to chunks.
  CHECK(sender_peak <= config.initial_stream_window + stream_chunk_size);
  CHECK(receiver_peak <= config.initial_stream_window + stream_chunk_size);
  CHECK(sim.client_app.out[id].written <= config.initial_stream_window + 20 * 10'000 + 10'000);
  CHECK_FALSE(sim.server_app.in[id].corrupt);
}

TEST_CASE("streams waiting for connection credit are all told when it comes") {
  StreamSim sim(path(10), path(10));
  // Six writers share the connection window; the reader takes everything
  // every 200 ms, so between reads all is acknowledged and every writer
  // waits for MAX_DATA, which must wake each of them.
  sim.server_app.read_interval_us = 200'000;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(sim.client_app.send(1 << 20));
  REQUIRE(sim.run(sim.now + 120'000'000, [&] {
    for (uint64_t id : ids) {
      auto it = sim.server_app.in.find(id);
      if (it == sim.server_app.in.end() || !it->second.eof) return false;
    }
    return true;
  }));
  for (uint64_t id : ids) {
    CHECK(sim.server_app.in[id].got == 1 << 20);
    CHECK_FALSE(sim.server_app.in[id].corrupt);
  }
}

TEST_CASE("streams held back by connection credit alone are woken by MAX_DATA") {
  // Stream windows far larger than the connection's: only MAX_DATA, never
  // MAX_STREAM_DATA, can let the writers go on.
  StreamConfig config;
  config.initial_stream_window = config.max_stream_window = 4 << 20;
  config.initial_connection_window = config.max_connection_window = 256 << 10;
  StreamSim sim(path(10), path(10), config);
  sim.server_app.read_interval_us = 200'000;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(sim.client_app.send(1 << 20));
  REQUIRE(sim.run(sim.now + 120'000'000, [&] {
    for (uint64_t id : ids) {
      auto it = sim.server_app.in.find(id);
      if (it == sim.server_app.in.end() || !it->second.eof) return false;
    }
    return true;
  }));
}

TEST_CASE("attack: a peer opening thousands of streams is held to the cap") {
  StreamSim sim(path(5), path(5));
  const uint64_t cap = StreamConfig{}.initial_max_streams;
  // An honest client: open() refuses past the cap and says when to retry.
  std::vector<uint64_t> ids;
  while (auto id = sim.client.open()) ids.push_back(*id);
  CHECK(ids.size() == cap);
  // A hostile one: packets for stream ids far past the cap.
  StreamSession server(StreamRole::server);
  uint64_t number = 0;
  for (uint64_t index = 0; index < 5000; ++index) {
    auto p = stream_packet(number++, index * 2, 0, hello);
    (void)server.receive(p, now0);
  }
  CHECK(server.counters().open_streams == cap);
  CHECK(drops(server, StreamDrop::stream_limit) == 5000 - cap);
  CHECK(server.counters().buffered_bytes <= cap * stream_chunk_size);
}

TEST_CASE("streams closed make room for new ones: thousands over time, never more than the cap at once") {
  StreamSim sim(path(5), path(5));
  const uint64_t cap = StreamConfig{}.initial_max_streams;
  uint64_t opened = 0, peak = 0;
  sim.each_step = [&] {
    // Open as many as allowed; each carries a little and ends.
    while (opened < 3000) {
      auto id = sim.client.open();
      if (!id) break;
      sim.client_app.out[*id].total = 100;
      ++opened;
    }
    peak = std::max<uint64_t>(peak, sim.server.counters().open_streams);
  };
  REQUIRE(sim.run(sim.now + 60'000'000, [&] {
    return opened == 3000 && sim.client.counters().open_streams == 0 && sim.server.counters().open_streams == 0;
  }));
  CHECK(peak <= cap);
  CHECK(sim.server.counters().streams.opened_peer == 3000);
  CHECK(sim.client_app.event_count(StreamEvent::Kind::can_open) > 0);
  for (const auto& [id, in] : sim.server_app.in) {
    CHECK(in.got == 100);
    CHECK_FALSE(in.corrupt);
  }
}

TEST_CASE("attack: hostile frames are counted drops") {
  StreamSession server(StreamRole::server);
  uint64_t n = 0;
  const StreamConfig config;
  auto receive = [&](const std::vector<uint8_t>& p) { return server.receive(p, now0); };

  SUBCASE("data beyond the stream window") {
    CHECK_FALSE(receive(stream_packet(n++, 0, config.initial_stream_window, hello)));
    CHECK(drops(server, StreamDrop::flow_control) == 1);
    CHECK(server.counters().buffered_bytes == 0);
  }
  SUBCASE("data beyond the connection window, over several streams") {
    std::vector<uint8_t> big(1000);
    uint64_t refused = 0;
    for (uint64_t s = 0; s < 10; ++s) {
      // Each stream's last bytes inside its own window.
      auto p = stream_packet(n++, s * 2, config.initial_stream_window - big.size(), big);
      refused += !receive(p);
    }
    // 10 streams at 128 KiB each would be 1.25 MiB: the 512 KiB total stops them.
    CHECK(refused == 10 - config.initial_connection_window / config.initial_stream_window);
    CHECK(drops(server, StreamDrop::flow_control) == refused);
  }
  SUBCASE("data after the end") {
    REQUIRE(receive(stream_packet(n++, 0, 0, hello, true)));
    CHECK_FALSE(receive(stream_packet(n++, 0, 5, hello)));
    CHECK(drops(server, StreamDrop::final_size) == 1);
  }
  SUBCASE("an end that moves") {
    REQUIRE(receive(stream_packet(n++, 0, 0, hello, true)));
    CHECK_FALSE(receive(stream_packet(n++, 0, 0, std::span(hello).first(3), true)));
    CHECK_FALSE(receive(packet(n++, [](wire::Writer& w) { encode_reset_stream(w, {0, 1, 9}); })));
    CHECK(drops(server, StreamDrop::final_size) == 2);
  }
  SUBCASE("an end below data already received") {
    REQUIRE(receive(stream_packet(n++, 0, 100, hello)));
    CHECK_FALSE(receive(stream_packet(n++, 0, 0, hello, true)));
    CHECK(drops(server, StreamDrop::final_size) == 1);
  }
  SUBCASE("acknowledgements of packets never sent") {
    const std::vector<Range> ranges = {{0, 1'000'000}};
    CHECK_FALSE(receive(packet(n++, [&](wire::Writer& w) { encode_ack(w, 0, ranges); })));
    CHECK(drops(server, StreamDrop::bad_ack) == 1);
  }
  SUBCASE("a stream of ours we never opened") {
    CHECK_FALSE(receive(stream_packet(n++, 1, 0, hello)));
    CHECK_FALSE(receive(packet(n++, [](wire::Writer& w) { encode_max_stream_data(w, 3, 1 << 30); })));
    CHECK(drops(server, StreamDrop::unknown_stream) == 2);
  }
  SUBCASE("a replayed packet") {
    auto p = stream_packet(n++, 0, 0, hello);
    REQUIRE(receive(p));
    CHECK_FALSE(receive(p));
    CHECK(drops(server, StreamDrop::duplicate) == 1);
  }
  SUBCASE("scattered bytes: holes are bounded, and refused past the bound") {
    const std::vector<uint8_t> one = {1};
    uint64_t refused = 0;
    for (uint64_t i = 0; i < 5000; ++i) refused += !receive(stream_packet(n++, 0, 1 + 2 * i, one));
    CHECK(refused == 5000 - config.max_receive_ranges);
    CHECK(drops(server, StreamDrop::too_fragmented) == refused);
  }
  SUBCASE("huge windows granted do not make us buffer more than our own bound") {
    const uint64_t id = *server.open();
    REQUIRE(receive(packet(n++, [&](wire::Writer& w) {
      encode_max_data(w, max_stream_value);
      encode_max_stream_data(w, id, max_stream_value);
    })));
    std::vector<uint8_t> chunk(1 << 20);
    uint64_t taken = 0;
    for (int i = 0; i < 64; ++i) taken += server.write(id, chunk);
    // Nothing was sent yet: a stream holds a couple of congestion windows of
    // unsent data at most, far below any window.
    CHECK(taken > 0);
    CHECK(taken <= StreamSet::min_unsent_limit);
  }
  // Whatever was refused, nothing crashed and the session still works.
  std::vector<uint8_t> out;
  while (server.produce(now0 + 10'000, default_stream_packet_size, out)) {}
  CHECK(server.counters().drops_total() < 10'000);
}

TEST_CASE("attack: a malformed packet changes nothing, even after a valid frame") {
  StreamSession server(StreamRole::server);
  auto p = stream_packet(0, 0, 0, hello);
  p.push_back(0x7f);  // an unknown frame type after the stream frame
  CHECK_FALSE(server.receive(p, now0));
  CHECK(drops(server, StreamDrop::malformed) == 1);
  CHECK(server.counters().open_streams == 0);
  StreamEvent e;
  CHECK_FALSE(server.poll(e));
  // The same packet number, well formed, is still new.
  CHECK(server.receive(stream_packet(0, 0, 0, hello), now0));
  CHECK(server.poll(e));
  auto wrong_version = stream_packet(1, 0, 5, hello);
  wrong_version[0] = 2;
  CHECK_FALSE(server.receive(wrong_version, now0));
  CHECK(drops(server, StreamDrop::bad_version) == 1);
  // A header with no frame, and nothing at all.
  CHECK_FALSE(server.receive(packet(2, [](wire::Writer&) {}), now0));
  CHECK_FALSE(server.receive(std::span<const uint8_t>{}, now0));
  CHECK(drops(server, StreamDrop::malformed) == 3);
}

TEST_CASE("after a roam the path is measured afresh and in-flight data is probed at once") {
  StreamSim sim(path(10, 20'000), path(10, 20'000));
  const uint64_t id = sim.client_app.send(uint64_t{1} << 30);
  REQUIRE_FALSE(sim.run(sim.now + 2'000'000, [] { return false; }));
  const auto before = sim.client.counters();
  CHECK(before.srtt_us < 50'000);
  // The new path is much longer; the old base RTT must not make it look congested.
  sim.up.set_params(path(150, 20'000));
  sim.down.set_params(path(150, 20'000));
  sim.client.path_changed(sim.now);
  const uint64_t got = sim.server_app.in[id].got;
  REQUIRE_FALSE(sim.run(sim.now + 10'000'000, [] { return false; }));
  const auto after = sim.client.counters();
  MESSAGE("after the roam: srtt " << after.srtt_us / 1000 << " ms, min " << after.min_rtt_us / 1000 << " ms, window "
                                  << after.window_bytes << ", queueing " << after.queueing_delay_us / 1000 << " ms");
  CHECK(after.min_rtt_us >= 290'000);
  CHECK(after.queueing_delay_us < 2 * ledbat_params::target_us);
  // Still moving at more than a trickle: at least a few MB in those 10 s.
  CHECK(sim.server_app.in[id].got - got > (4 << 20));
}

TEST_CASE("whenever next_wakeup says now, produce with the smallest room makes progress") {
  StreamSim sim(path(5), path(5));
  sim.packet_size = min_stream_packet;
  const uint64_t id = sim.client_app.send(200'000);
  uint64_t idle_calls = 0;
  sim.each_step = [&] {
    for (StreamSession* s : {&sim.client, &sim.server}) {
      std::vector<uint8_t> out;
      auto w = s->next_wakeup(sim.now);
      if (!w || *w > sim.now) continue;
      if (!s->produce(sim.now, min_stream_packet, out)) ++idle_calls;
      else (s == &sim.client ? sim.up : sim.down).submit(relay::Time(static_cast<int64_t>(sim.now)), out);
    }
  };
  REQUIRE(sim.run(sim.now + 30'000'000, [&] {
    auto it = sim.server_app.in.find(id);
    return it != sim.server_app.in.end() && it->second.eof;
  }));
  CHECK(idle_calls == 0);
  CHECK_FALSE(sim.server_app.in[id].corrupt);
  CHECK(sim.server.counters().drops_total() == 0);
}

TEST_CASE("attack: a peer that pings forever and never acknowledges cannot grow our records") {
  StreamSession client(StreamRole::client);
  std::vector<uint8_t> out;
  uint64_t now = now0, sent = 0;
  for (uint64_t n = 0; n < 400'000; ++n) {
    REQUIRE(client.receive(packet(n, [](wire::Writer& w) { encode_ping(w); }), now));
    while (client.produce(now, default_stream_packet_size, out)) ++sent;
    now += 100;
  }
  const auto c = client.counters();
  MESSAGE(sent << " ACK-only packets sent, " << c.tracked_packets << " still tracked");
  CHECK(sent > max_tracked_packets);
  CHECK(c.tracked_packets <= max_tracked_packets);
}
