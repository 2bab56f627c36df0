// Speed of the pure stream layer: two StreamSessions joined in memory (no
// sockets, no crypto, no loss), one stream of 500 MB from client to server,
// the clock the real one. Prints bytes per second, packets per second and
// heap allocations per packet once warm, so we know the layer is not what
// limits `roam -L` (ssh -L does several hundred MB/s on loopback).
//
//   stream_perftest [MEGABYTES]
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "protocol/stream_session.h"

namespace {

// Every heap allocation in the process, to count them per packet.
uint64_t allocations = 0;

uint64_t now_us() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count());
}

}  // namespace

void* operator new(size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

int main(int argc, char** argv) {
  using namespace roam;
  const uint64_t total = (argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 500) << 20;
  StreamSession client(StreamRole::client), server(StreamRole::server);
  const uint64_t id = *client.open();
  std::vector<uint8_t> chunk(64 << 10, 'x'), sink(64 << 10), packet;
  packet.reserve(default_stream_packet_size);
  std::vector<std::vector<uint8_t>> to_server, to_client;
  size_t to_server_used = 0, to_client_used = 0;
  auto queue = [](std::vector<std::vector<uint8_t>>& q, size_t& used, const std::vector<uint8_t>& p) {
    if (used == q.size()) q.emplace_back().reserve(default_stream_packet_size);
    q[used++].assign(p.begin(), p.end());
  };

  uint64_t written = 0, read = 0, packets = 0;
  uint64_t warm_at = 0, warm_allocations = 0, warm_packets = 0, warm_read = 0;
  const uint64_t start = now_us();
  const std::clock_t cpu_start = std::clock();
  while (read < total) {
    uint64_t now = now_us();
    while (written < total) {
      const size_t n = client.write(id, std::span(chunk.data(), std::min<uint64_t>(chunk.size(), total - written)));
      written += n;
      if (n == 0) break;
    }
    if (written == total) client.finish(id);
    while (client.produce(now, default_stream_packet_size, packet)) queue(to_server, to_server_used, packet);
    now = now_us();
    for (size_t i = 0; i < to_server_used; ++i) (void)server.receive(to_server[i], now);
    packets += to_server_used;
    to_server_used = 0;
    StreamEvent e;
    while (server.poll(e)) {}
    while (size_t n = server.read(id, sink)) read += n;
    while (server.produce(now, default_stream_packet_size, packet)) queue(to_client, to_client_used, packet);
    for (size_t i = 0; i < to_client_used; ++i) (void)client.receive(to_client[i], now_us());
    to_client_used = 0;
    while (client.poll(e)) {}
    if (!warm_at && read >= total / 10) {
      warm_at = now_us();
      warm_allocations = allocations;
      warm_packets = packets;
      warm_read = read;
    }
  }
  const uint64_t end = now_us();
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const double seconds = static_cast<double>(end - start) / 1e6;
  const double warm_seconds = static_cast<double>(end - warm_at) / 1e6;
  const auto c = client.counters();
  fmt::print("{} MB in {:.2f} s: {:.0f} MB/s, {:.0f} packets/s ({} packets, {} retransmitted bytes)\n", total >> 20,
             seconds, static_cast<double>(total) / seconds / 1e6, static_cast<double>(packets) / seconds, packets,
             c.streams.bytes_retransmitted);
  // CPU time is what the layer costs; wall time also counts a loaded machine.
  fmt::print("both ends together: {:.0f} MB per CPU second\n", static_cast<double>(total) / cpu / 1e6);
  fmt::print("once warm: {:.0f} MB/s, {:.4f} heap allocations per packet ({} in {} packets)\n",
             static_cast<double>(read - warm_read) / warm_seconds / 1e6,
             static_cast<double>(allocations - warm_allocations) / static_cast<double>(packets - warm_packets),
             allocations - warm_allocations, packets - warm_packets);
  return 0;
}
