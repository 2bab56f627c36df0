#include "protocol/stream_buffer.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace roam {

std::unique_ptr<ChunkPool::Chunk> ChunkPool::take() {
  peak_ = std::max(peak_, ++in_use_);
  if (free_.empty()) return std::make_unique<Chunk>();
  auto chunk = std::move(free_.back());
  free_.pop_back();
  return chunk;
}

void ChunkPool::give(std::unique_ptr<Chunk> chunk) {
  if (!chunk) return;
  --in_use_;
  if (free_.size() < std::max(min_free_, peak_)) free_.push_back(std::move(chunk));
}

void ChunkPool::trim() {
  const size_t keep = std::max(min_free_, in_use_);
  while (free_.size() > keep) free_.pop_back();
  peak_ = in_use_;
}

void ByteBuffer::write(uint64_t offset, std::span<const uint8_t> data) {
  assert(offset >= base());
  while (!data.empty()) {
    const uint64_t index = offset / stream_chunk_size;
    const size_t within = static_cast<size_t>(offset % stream_chunk_size);
    while (index - first_chunk_ >= slots_.size()) slots_.push_back(nullptr);
    auto& slot = slots_[static_cast<size_t>(index - first_chunk_)];
    if (!slot) slot = pool_->take();
    const size_t n = std::min(data.size(), stream_chunk_size - within);
    std::memcpy(slot->data() + within, data.data(), n);
    data = data.subspan(n);
    offset += n;
  }
}

std::span<const uint8_t> ByteBuffer::view(uint64_t offset, size_t max) const {
  const uint64_t index = offset / stream_chunk_size;
  if (offset < base() || index - first_chunk_ >= slots_.size()) return {};
  const auto& slot = slots_[static_cast<size_t>(index - first_chunk_)];
  if (!slot) return {};
  const size_t within = static_cast<size_t>(offset % stream_chunk_size);
  return {slot->data() + within, std::min(max, stream_chunk_size - within)};
}

void ByteBuffer::copy(uint64_t offset, std::span<uint8_t> out) const {
  while (!out.empty()) {
    auto piece = view(offset, out.size());
    assert(!piece.empty());
    if (piece.empty()) return;
    std::memcpy(out.data(), piece.data(), piece.size());
    out = out.subspan(piece.size());
    offset += piece.size();
  }
}

void ByteBuffer::release_before(uint64_t offset) {
  const uint64_t index = offset / stream_chunk_size;
  while (!slots_.empty() && first_chunk_ < index) {
    pool_->give(std::move(slots_.front()));
    slots_.pop_front();
    ++first_chunk_;
  }
  // Nothing below `offset` can be written again: later writes start there.
  first_chunk_ = std::max(first_chunk_, index);
}

void ByteBuffer::clear() {
  while (!slots_.empty()) {
    pool_->give(std::move(slots_.front()));
    slots_.pop_front();
  }
}

size_t ByteBuffer::chunks() const {
  size_t n = 0;
  for (size_t i = 0; i < slots_.size(); ++i) n += slots_[i] != nullptr;
  return n;
}

}  // namespace roam
