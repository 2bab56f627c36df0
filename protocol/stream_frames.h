// The stream layer's packets (protocol/streams.md has the full layout):
//
//   packet = version u8 (1) | packet number varint | frame...
//
// Frames follow QUIC's (RFC 9000 section 19) in meaning, in our own encoding
// (LEB128 varints, protocol/wire.h). Decoders never read past the end, never
// allocate, and bound every count: ACK ranges are checked once when decoded
// and re-read lazily from the input by AckRangeReader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/range_set.h"
#include "protocol/result.h"
#include "protocol/wire.h"

namespace roam {

inline constexpr uint8_t stream_packet_version = 1;
// Offsets, packet numbers, stream ids and counts stay below 2^62, as in QUIC,
// so that sums of two of them never overflow.
inline constexpr uint64_t max_stream_value = (uint64_t{1} << 62) - 1;
// Ranges one ACK frame may carry (the first included).
inline constexpr size_t max_ack_ranges = 64;

enum class FrameType : uint8_t {
  padding = 0x00,  // a run of zero bytes
  ping = 0x01,
  ack = 0x02,
  reset_stream = 0x03,
  max_data = 0x04,
  max_stream_data = 0x05,
  max_streams = 0x06,
  stream = 0x08,  // 0x08-0x0f: | 0x04 offset present | 0x02 length present | 0x01 fin
};

inline constexpr uint8_t stream_bit_offset = 0x04;
inline constexpr uint8_t stream_bit_length = 0x02;
inline constexpr uint8_t stream_bit_fin = 0x01;

struct StreamFrame {
  uint64_t id = 0;
  uint64_t offset = 0;
  wire::Bytes data;  // a view into the packet
  bool fin = false;
  bool explicit_length = true;  // false: the data runs to the end of the packet
};

struct ResetStreamFrame {
  uint64_t id = 0;
  uint64_t code = 0;        // the application's reason
  uint64_t final_size = 0;  // how many bytes the sender's direction carried
};

struct AckFrame {
  uint64_t largest = 0;
  uint64_t delay_us = 0;  // how long the largest was held before this ack
  size_t range_count = 0;
  wire::Bytes encoded_ranges;  // first range, then gap/length pairs: validated
};

struct Frame {
  FrameType type = FrameType::padding;
  size_t padding = 0;  // padding: how many zero bytes
  uint64_t value = 0;  // max_data, max_streams
  uint64_t id = 0;     // max_stream_data
  StreamFrame stream;
  ResetStreamFrame reset;
  AckFrame ack;
};

// Reads the ranges of a decoded ACK frame, newest first, as [begin, end).
class AckRangeReader {
 public:
  explicit AckRangeReader(const AckFrame& ack);
  bool next(Range& out);

 private:
  wire::Reader reader_;
  size_t left_;
  uint64_t smallest_ = 0;
  bool first_ = true;
  uint64_t largest_;
};

// How many bytes wire::Writer::varint(v) writes.
constexpr size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

struct PacketHeader {
  uint64_t number = 0;
};

Result<PacketHeader> decode_packet_header(wire::Reader& in);
// One frame; at the end of a packet the caller stops (in.remaining() == 0).
Result<Frame> decode_frame(wire::Reader& in);

void encode_packet_header(wire::Writer& out, uint64_t number);
void encode_ping(wire::Writer& out);
void encode_padding(wire::Writer& out, size_t n);
// `ranges` newest first, disjoint and not touching; at most max_ack_ranges.
void encode_ack(wire::Writer& out, uint64_t delay_us, std::span<const Range> ranges);
void encode_reset_stream(wire::Writer& out, const ResetStreamFrame& f);
void encode_max_data(wire::Writer& out, uint64_t max);
void encode_max_stream_data(wire::Writer& out, uint64_t id, uint64_t max);
void encode_max_streams(wire::Writer& out, uint64_t max);
// The frame's header only; the caller writes `length` bytes of data after it.
void encode_stream_header(wire::Writer& out, uint64_t id, uint64_t offset, size_t length, bool fin);
// Sizes, to fill a packet to its budget.
size_t stream_header_size(uint64_t id, uint64_t offset, size_t length);
size_t ack_size(uint64_t delay_us, std::span<const Range> ranges);

// Any decoded frame back into bytes: decode then encode gives the same bytes.
void encode_frame(wire::Writer& out, const Frame& f);

}  // namespace roam
