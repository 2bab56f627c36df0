// Stream bytes in fixed-size chunks, addressed by their offset in the stream:
// a send buffer holds what is written and not yet acknowledged, a receive
// buffer what arrived (possibly with holes) and is not yet read. Chunks come
// from a pool shared by a session's streams, so a steady transfer reuses the
// same memory instead of allocating per packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "protocol/ring.h"

namespace roam {

inline constexpr size_t stream_chunk_size = 16384;

class ChunkPool {
 public:
  using Chunk = std::array<uint8_t, stream_chunk_size>;

  // Keeps idle chunks for reuse, up to the most that were in use at once
  // since the last trim() (a transfer's buffers swing by megabytes as windows
  // open and bursts arrive) and at least `min_free`.
  explicit ChunkPool(size_t min_free = 64) : min_free_(min_free) {}

  std::unique_ptr<Chunk> take();
  void give(std::unique_ptr<Chunk> chunk);
  // Frees idle chunks beyond max(min_free, in use): when a stream ends.
  void trim();

  size_t in_use() const { return in_use_; }  // chunks held by buffers
  size_t idle() const { return free_.size(); }

 private:
  size_t min_free_;
  size_t in_use_ = 0;
  size_t peak_ = 0;  // most in use at once since the last trim()
  std::vector<std::unique_ptr<Chunk>> free_;
};

class ByteBuffer {
 public:
  explicit ByteBuffer(ChunkPool& pool) : pool_(&pool) {}
  ~ByteBuffer() { clear(); }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  // Stores `data` at `offset`, which must not be below base().
  void write(uint64_t offset, std::span<const uint8_t> data);
  // The stored bytes from `offset` up to `max`, stopping at a chunk boundary:
  // call again from offset + size for the rest. The caller knows which parts
  // were written (a RangeSet); unwritten parts read as garbage.
  std::span<const uint8_t> view(uint64_t offset, size_t max) const;
  // Copies [offset, offset + out.size()) out.
  void copy(uint64_t offset, std::span<uint8_t> out) const;
  // Gives back the chunks wholly below `offset`.
  void release_before(uint64_t offset);
  void clear();

  // Everything below this offset is gone (a chunk boundary).
  uint64_t base() const { return first_chunk_ * stream_chunk_size; }
  size_t chunks() const;  // chunks held
  size_t bytes_held() const { return chunks() * stream_chunk_size; }

 private:
  ChunkPool* pool_;
  uint64_t first_chunk_ = 0;  // the chunk index of slots_[0]
  Ring<std::unique_ptr<ChunkPool::Chunk>> slots_;  // null: nothing written there yet
};

}  // namespace roam
