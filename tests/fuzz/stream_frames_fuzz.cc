// The stream layer's packets, two ways.
//  1. The input as one packet: its header and frames decode without reading
//     past the end, and each decoded frame encodes back to its own bytes.
//  2. The input as a sequence of packets (u16 length, little-endian, then the
//     packet) received by a StreamSession whose application reads everything
//     and answers: no crash, and memory held to the windows and the stream cap.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/stream_frames.h"
#include "protocol/stream_session.h"

using namespace roam;

namespace {

void frames_round_trip(std::span<const uint8_t> input) {
  wire::Reader in(input);
  if (!decode_packet_header(in)) return;
  std::vector<uint8_t> again;
  while (in.remaining() > 0) {
    const auto before = in.rest();
    auto f = decode_frame(in);
    if (!f) return;
    const auto used = before.first(before.size() - in.remaining());
    again.clear();
    wire::Writer w(again);
    encode_frame(w, *f);
    if (!std::equal(again.begin(), again.end(), used.begin(), used.end())) __builtin_trap();
  }
}

void session(std::span<const uint8_t> input) {
  StreamSession s(StreamRole::server);
  const StreamConfig config;
  uint64_t now = 1'000'000;
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(4096);
  for (size_t at = 0; at + 2 <= input.size();) {
    size_t len = input[at] | static_cast<size_t>(input[at + 1]) << 8;
    at += 2;
    len = std::min(len, input.size() - at);
    (void)s.receive(input.subspan(at, len), now);
    at += len;
    now += 1000 + (len & 0xff) * 100;
    StreamEvent e;
    while (s.poll(e)) {
      if (e.kind == StreamEvent::Kind::opened || e.kind == StreamEvent::Kind::readable) {
        while (s.read(e.stream, buf) > 0) {}
        (void)s.write(e.stream, std::span(buf.data(), len % 64));
        if (s.at_eof(e.stream)) s.finish(e.stream);
      }
    }
    for (int i = 0; i < 64 && s.produce(now, default_stream_packet_size, out); ++i) {}
    const auto c = s.counters();
    if (c.open_streams > config.initial_max_streams) __builtin_trap();
    // Received data within the connection window, plus chunk rounding per stream.
    if (c.buffered_bytes > config.max_connection_window + (c.open_streams + 1) * 2 * stream_chunk_size)
      __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  frames_round_trip(input);
  session(input);
  return 0;
}
