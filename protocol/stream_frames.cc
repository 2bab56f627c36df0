#include "protocol/stream_frames.h"

#include <cassert>

namespace roam {

namespace {

using wire::Reader;
using wire::Writer;

Result<void> decode_ack(Reader& in, AckFrame& ack) {
  auto largest = in.varint(max_stream_value);
  auto delay = in.varint(max_stream_value);
  auto extra = in.varint(max_ack_ranges - 1);
  if (!extra) return fail(extra.error());
  const wire::Bytes start = in.rest();
  auto first = in.varint();
  if (!first) return fail(first.error());
  if (*first > *largest) return fail(Errc::malformed);
  uint64_t smallest = *largest - *first;
  for (uint64_t i = 0; i < *extra; ++i) {
    auto gap = in.varint();
    auto length = in.varint();
    if (!length) return fail(length.error());
    // The next range ends at least one number below this one, not touching it.
    if (smallest < 2 || *gap > smallest - 2) return fail(Errc::malformed);
    const uint64_t next_largest = smallest - *gap - 2;
    if (*length > next_largest) return fail(Errc::malformed);
    smallest = next_largest - *length;
  }
  ack.largest = *largest;
  ack.delay_us = *delay;
  ack.range_count = static_cast<size_t>(*extra) + 1;
  ack.encoded_ranges = start.first(start.size() - in.remaining());
  return {};
}

Result<void> decode_stream(Reader& in, uint8_t type, StreamFrame& s) {
  auto id = in.varint(max_stream_value);
  if (!id) return fail(id.error());
  s.id = *id;
  s.offset = 0;
  if (type & stream_bit_offset) {
    auto offset = in.varint(max_stream_value);
    if (!offset) return fail(offset.error());
    // Offset zero is written by leaving the bit out: one encoding per frame.
    if (*offset == 0) return fail(Errc::malformed);
    s.offset = *offset;
  }
  s.explicit_length = (type & stream_bit_length) != 0;
  if (s.explicit_length) {
    auto data = in.bytes(max_stream_value);
    if (!data) return fail(data.error());
    s.data = *data;
  } else {
    auto data = in.raw(in.remaining());
    if (!data) return fail(data.error());
    s.data = *data;
  }
  s.fin = (type & stream_bit_fin) != 0;
  if (s.data.empty() && !s.fin) return fail(Errc::malformed);
  if (s.data.size() > max_stream_value - s.offset) return fail(Errc::too_large);
  return {};
}

}  // namespace

AckRangeReader::AckRangeReader(const AckFrame& ack)
    : reader_(ack.encoded_ranges), left_(ack.range_count), largest_(ack.largest) {}

bool AckRangeReader::next(Range& out) {
  if (left_ == 0) return false;
  --left_;
  // decode_ack checked every field, so these reads cannot fail or underflow.
  if (first_) {
    first_ = false;
    const uint64_t first = *reader_.varint();
    smallest_ = largest_ - first;
    out = {smallest_, largest_ + 1};
    return true;
  }
  const uint64_t gap = *reader_.varint();
  const uint64_t length = *reader_.varint();
  const uint64_t largest = smallest_ - gap - 2;
  smallest_ = largest - length;
  out = {smallest_, largest + 1};
  return true;
}

Result<PacketHeader> decode_packet_header(Reader& in) {
  auto version = in.u8();
  if (!version) return fail(version.error());
  if (*version != stream_packet_version) return fail(Errc::bad_version);
  auto number = in.varint(max_stream_value);
  if (!number) return fail(number.error());
  return PacketHeader{*number};
}

Result<Frame> decode_frame(Reader& in) {
  auto type = in.u8();
  if (!type) return fail(type.error());
  Frame f;
  if (*type >= static_cast<uint8_t>(FrameType::stream) && *type <= 0x0f) {
    f.type = FrameType::stream;
    if (auto ok = decode_stream(in, *type, f.stream); !ok) return fail(ok.error());
    return f;
  }
  f.type = static_cast<FrameType>(*type);
  switch (f.type) {
    case FrameType::padding: {
      f.padding = 1;
      const wire::Bytes rest = in.rest();
      while (f.padding - 1 < rest.size() && rest[f.padding - 1] == 0) ++f.padding;
      (void)in.raw(f.padding - 1);
      return f;
    }
    case FrameType::ping: return f;
    case FrameType::ack:
      if (auto ok = decode_ack(in, f.ack); !ok) return fail(ok.error());
      return f;
    case FrameType::reset_stream: {
      auto id = in.varint(max_stream_value);
      auto code = in.varint(max_stream_value);
      auto size = in.varint(max_stream_value);
      if (!size) return fail(size.error());
      f.reset = {*id, *code, *size};
      return f;
    }
    case FrameType::max_data:
    case FrameType::max_streams: {
      auto v = in.varint(max_stream_value);
      if (!v) return fail(v.error());
      f.value = *v;
      return f;
    }
    case FrameType::max_stream_data: {
      auto id = in.varint(max_stream_value);
      auto v = in.varint(max_stream_value);
      if (!v) return fail(v.error());
      f.id = *id;
      f.value = *v;
      return f;
    }
    case FrameType::stream: break;
  }
  return fail(Errc::malformed);
}

void encode_packet_header(Writer& out, uint64_t number) {
  out.u8(stream_packet_version);
  out.varint(number);
}

void encode_ping(Writer& out) { out.u8(static_cast<uint8_t>(FrameType::ping)); }

void encode_padding(Writer& out, size_t n) {
  for (size_t i = 0; i < n; ++i) out.u8(0);
}

void encode_ack(Writer& out, uint64_t delay_us, std::span<const Range> ranges) {
  assert(!ranges.empty() && ranges.size() <= max_ack_ranges);
  const uint64_t largest = ranges[0].end - 1;
  out.u8(static_cast<uint8_t>(FrameType::ack));
  out.varint(largest);
  out.varint(delay_us);
  out.varint(ranges.size() - 1);
  out.varint(largest - ranges[0].begin);
  for (size_t i = 1; i < ranges.size(); ++i) {
    out.varint(ranges[i - 1].begin - ranges[i].end - 1);
    out.varint(ranges[i].end - 1 - ranges[i].begin);
  }
}

size_t ack_size(uint64_t delay_us, std::span<const Range> ranges) {
  const uint64_t largest = ranges[0].end - 1;
  size_t n = 1 + varint_size(largest) + varint_size(delay_us) + varint_size(ranges.size() - 1) +
             varint_size(largest - ranges[0].begin);
  for (size_t i = 1; i < ranges.size(); ++i)
    n += varint_size(ranges[i - 1].begin - ranges[i].end - 1) + varint_size(ranges[i].end - 1 - ranges[i].begin);
  return n;
}

void encode_reset_stream(Writer& out, const ResetStreamFrame& f) {
  out.u8(static_cast<uint8_t>(FrameType::reset_stream));
  out.varint(f.id);
  out.varint(f.code);
  out.varint(f.final_size);
}

void encode_max_data(Writer& out, uint64_t max) {
  out.u8(static_cast<uint8_t>(FrameType::max_data));
  out.varint(max);
}

void encode_max_stream_data(Writer& out, uint64_t id, uint64_t max) {
  out.u8(static_cast<uint8_t>(FrameType::max_stream_data));
  out.varint(id);
  out.varint(max);
}

void encode_max_streams(Writer& out, uint64_t max) {
  out.u8(static_cast<uint8_t>(FrameType::max_streams));
  out.varint(max);
}

void encode_stream_header(Writer& out, uint64_t id, uint64_t offset, size_t length, bool fin) {
  uint8_t type = static_cast<uint8_t>(FrameType::stream) | stream_bit_length;
  if (offset) type |= stream_bit_offset;
  if (fin) type |= stream_bit_fin;
  out.u8(type);
  out.varint(id);
  if (offset) out.varint(offset);
  out.varint(length);
}

size_t stream_header_size(uint64_t id, uint64_t offset, size_t length) {
  return 1 + varint_size(id) + (offset ? varint_size(offset) : 0) + varint_size(length);
}

void encode_frame(Writer& out, const Frame& f) {
  switch (f.type) {
    case FrameType::padding: encode_padding(out, f.padding); return;
    case FrameType::ping: encode_ping(out); return;
    case FrameType::ack: {
      out.u8(static_cast<uint8_t>(FrameType::ack));
      out.varint(f.ack.largest);
      out.varint(f.ack.delay_us);
      out.varint(f.ack.range_count - 1);
      out.raw(f.ack.encoded_ranges);
      return;
    }
    case FrameType::reset_stream: encode_reset_stream(out, f.reset); return;
    case FrameType::max_data: encode_max_data(out, f.value); return;
    case FrameType::max_stream_data: encode_max_stream_data(out, f.id, f.value); return;
    case FrameType::max_streams: encode_max_streams(out, f.value); return;
    case FrameType::stream: {
      const StreamFrame& s = f.stream;
      if (s.explicit_length) {
        encode_stream_header(out, s.id, s.offset, s.data.size(), s.fin);
      } else {
        uint8_t type = static_cast<uint8_t>(FrameType::stream);
        if (s.offset) type |= stream_bit_offset;
        if (s.fin) type |= stream_bit_fin;
        out.u8(type);
        out.varint(s.id);
        if (s.offset) out.varint(s.offset);
      }
      out.raw(s.data);
      return;
    }
  }
}

}  // namespace roam
