// Our wire encoding: little-endian fixed-width integers, LEB128 varints and
// length-prefixed byte strings. The Reader never throws, never reads past the
// end of its span, and never allocates: it hands out views into the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace roam::wire {

using Bytes = std::span<const uint8_t>;

inline Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Appends to a caller-owned buffer, so one buffer can be reused per frame.
class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void varint(uint64_t v);
  void raw(Bytes b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void raw(std::string_view s) { raw(as_bytes(s)); }
  // A varint length, then the bytes.
  void bytes(Bytes b);
  void bytes(std::string_view s) { bytes(as_bytes(s)); }

  size_t size() const { return out_.size(); }

 private:
  std::vector<uint8_t>& out_;
};

// Every read returns the value or why it could not. After the first failure
// the reader stays failed, so a decoder may read several fields and check once.
class Reader {
 public:
  explicit Reader(Bytes in) : in_(in) {}

  Result<uint8_t> u8();
  Result<uint16_t> u16();
  Result<uint32_t> u32();
  Result<uint64_t> u64();
  // Rejects encodings longer than needed and values wider than 64 bits.
  Result<uint64_t> varint();
  // A varint no greater than `max`.
  Result<uint64_t> varint(uint64_t max);
  // After a failure the reader stays failed and these give 0, so a decoder
  // may build with the values and check ok() once before trusting them.
  uint64_t varint_or_zero(uint64_t max = UINT64_MAX) {
    auto v = varint(max);
    return v ? *v : 0;
  }
  uint8_t u8_or_zero() {
    auto v = u8();
    return v ? *v : 0;
  }
  Result<Bytes> raw(size_t n);
  // A length-prefixed string of at most `max` bytes: a view into the input.
  Result<Bytes> bytes(size_t max);

  size_t remaining() const { return failed_ ? 0 : in_.size() - pos_; }
  Bytes rest() const { return failed_ ? Bytes{} : in_.subspan(pos_); }
  bool ok() const { return !failed_; }
  // Succeeds only if nothing failed and every byte was consumed.
  Result<void> finish() const;

 private:
  Unexpected<Errc> failure(Errc e);

  Bytes in_;
  size_t pos_ = 0;
  bool failed_ = false;
  Errc error_ = Errc::truncated;
};

}  // namespace roam::wire
