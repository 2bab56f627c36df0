// zstd compression of instruction bodies. A packed body is one flag byte
// (0 = stored, 1 = zstd) and then the bytes, so tiny messages such as a single
// keystroke are never made larger by a compression frame.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "protocol/result.h"

namespace roam {

class Compressor {
 public:
  Compressor();
  ~Compressor();
  Compressor(Compressor&&) noexcept;
  Compressor& operator=(Compressor&&) noexcept;

  // Appends the packed form of `body` to `out`.
  void pack(std::span<const uint8_t> body, std::vector<uint8_t>& out);
  // Appends the unpacked body to `out`. Refuses (too_large) anything that
  // would grow beyond `max_size` bytes before allocating for it.
  Result<void> unpack(std::span<const uint8_t> packed, size_t max_size, std::vector<uint8_t>& out);

 private:
  struct Contexts;
  std::unique_ptr<Contexts> ctx_;
};

}  // namespace roam
