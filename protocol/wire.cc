#include "protocol/wire.h"

#include <cstring>

namespace roam::wire {

namespace {

template <class T>
void put_le(std::vector<uint8_t>& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

void Writer::u16(uint16_t v) { put_le(out_, v); }
void Writer::u32(uint32_t v) { put_le(out_, v); }
void Writer::u64(uint64_t v) { put_le(out_, v); }

void Writer::varint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<uint8_t>(v));
}

void Writer::bytes(Bytes b) {
  varint(b.size());
  raw(b);
}

Unexpected<Errc> Reader::failure(Errc e) {
  if (!failed_) error_ = e;
  failed_ = true;
  return fail(error_);
}

Result<Bytes> Reader::raw(size_t n) {
  if (failed_) return fail(error_);
  if (n > in_.size() - pos_) return failure(Errc::truncated);
  Bytes out = in_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<uint8_t> Reader::u8() {
  auto b = raw(1);
  if (!b) return fail(b.error());
  return (*b)[0];
}

namespace {

template <class T>
T get_le(Bytes b) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(T{b[i]} << (8 * i));
  return v;
}

}  // namespace

Result<uint16_t> Reader::u16() {
  auto b = raw(2);
  if (!b) return fail(b.error());
  return get_le<uint16_t>(*b);
}

Result<uint32_t> Reader::u32() {
  auto b = raw(4);
  if (!b) return fail(b.error());
  return get_le<uint32_t>(*b);
}

Result<uint64_t> Reader::u64() {
  auto b = raw(8);
  if (!b) return fail(b.error());
  return get_le<uint64_t>(*b);
}

Result<uint64_t> Reader::varint() {
  if (failed_) return fail(error_);
  uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (pos_ == in_.size()) return failure(Errc::truncated);
    const uint8_t byte = in_[pos_++];
    const uint64_t bits = byte & 0x7f;
    // The tenth byte may only carry the 64th bit.
    if (shift == 63 && bits > 1) return failure(Errc::overlong_varint);
    v |= bits << shift;
    if (!(byte & 0x80)) {
      // A zero final byte after the first means a shorter encoding existed.
      if (byte == 0 && shift > 0) return failure(Errc::overlong_varint);
      return v;
    }
    if (shift == 63) return failure(Errc::overlong_varint);
  }
}

Result<uint64_t> Reader::varint(uint64_t max) {
  auto v = varint();
  if (!v) return v;
  if (*v > max) return failure(Errc::too_large);
  return v;
}

Result<Bytes> Reader::bytes(size_t max) {
  auto n = varint(max);
  if (!n) return fail(n.error());
  return raw(static_cast<size_t>(*n));
}

Result<void> Reader::finish() const {
  if (failed_) return fail(error_);
  if (pos_ != in_.size()) return fail(Errc::malformed);
  return {};
}

}  // namespace roam::wire
