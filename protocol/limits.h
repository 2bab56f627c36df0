// What one session's screen may measure, wherever a size comes from: a
// command line, a client's terminal, the server's diffs to a client. One
// place, so that the server never makes a screen its clients refuse, and a
// server that sends a bigger one is known to be broken or hostile.
#pragma once

#include <cstdint>

namespace roam::limits {

inline constexpr int min_cols = 2, min_rows = 2;
inline constexpr int max_cols = 1000, max_rows = 1000;

inline constexpr bool session_size_ok(uint64_t cols, uint64_t rows) {
  return cols >= min_cols && rows >= min_rows && cols <= max_cols && rows <= max_rows;
}

// What the states a client has received from its server may hold together
// (screens and history replies, shared rows counted once): past it the
// oldest go, and a single state bigger than this ends the connection.
inline constexpr uint64_t max_received_bytes = uint64_t{64} << 20;

}  // namespace roam::limits
