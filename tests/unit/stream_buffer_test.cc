#include "protocol/stream_buffer.h"

#include <doctest/doctest.h>

#include <vector>

using namespace roam;

namespace {

std::vector<uint8_t> seq(size_t n, uint8_t start) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(start + i);
  return v;
}

}  // namespace

TEST_CASE("bytes written across chunk boundaries read back") {
  ChunkPool pool;
  ByteBuffer b(pool);
  const auto data = seq(3 * stream_chunk_size + 100, 3);
  b.write(10, data);
  std::vector<uint8_t> out(data.size());
  b.copy(10, out);
  CHECK(out == data);
  // A view stops at the chunk's end.
  CHECK(b.view(10, data.size()).size() == stream_chunk_size - 10);
  CHECK(b.chunks() == 4);
}

TEST_CASE("a write far ahead leaves the chunks between unallocated") {
  ChunkPool pool;
  ByteBuffer b(pool);
  b.write(5 * stream_chunk_size, seq(10, 0));
  CHECK(b.chunks() == 1);
  CHECK(b.view(0, 10).empty());
  // ... and a write below it still works: the base did not move.
  b.write(0, seq(10, 0));
  CHECK(b.chunks() == 2);
  CHECK(b.base() == 0);
}

TEST_CASE("released chunks go back to the pool and are reused") {
  ChunkPool pool(4);
  {
    ByteBuffer b(pool);
    b.write(0, seq(2 * stream_chunk_size, 0));
    CHECK(pool.in_use() == 2);
    b.release_before(stream_chunk_size + 5);  // the second chunk is still needed
    CHECK(pool.in_use() == 1);
    CHECK(pool.idle() == 1);
    CHECK(b.base() == stream_chunk_size);
    b.write(2 * stream_chunk_size, seq(10, 0));
    CHECK(pool.idle() == 0);  // reused
  }
  CHECK(pool.in_use() == 0);
  CHECK(pool.idle() == 2);
}

TEST_CASE("the pool keeps idle chunks up to its peak use, and its minimum after a trim") {
  ChunkPool pool(2);
  ByteBuffer a(pool), b(pool);
  a.write(0, seq(10 * stream_chunk_size, 0));
  b.write(0, seq(6 * stream_chunk_size, 0));
  a.clear();
  b.clear();
  CHECK(pool.in_use() == 0);
  CHECK(pool.idle() == 16);  // a burst this size will likely come again
  a.write(0, seq(16 * stream_chunk_size, 0));
  CHECK(pool.idle() == 0);
  a.clear();
  pool.trim();
  CHECK(pool.idle() == 2);
}
