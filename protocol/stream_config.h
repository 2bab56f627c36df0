// The stream layer's limits. The initial_* values are part of the protocol
// (there is no handshake to exchange them): both ends must use the same, and
// everything above them is granted by MAX_DATA, MAX_STREAM_DATA and
// MAX_STREAMS frames. The max_* values are local policy: how far a receiver
// lets its windows grow, and so how much memory a stream and an attachment
// may hold.
#pragma once

#include <cstddef>
#include <cstdint>

namespace roam {

struct StreamConfig {
  // Protocol version 1.
  uint64_t initial_stream_window = 128 << 10;
  uint64_t initial_connection_window = 512 << 10;
  uint64_t initial_max_streams = 256;  // concurrent streams each side may open

  // Local: receive windows grow up to these; the send side buffers at most
  // as much, whatever the peer grants.
  uint64_t max_stream_window = 16 << 20;
  uint64_t max_connection_window = 24 << 20;
  // Out-of-order pieces one stream's receiver keeps apart (a hole each).
  size_t max_receive_ranges = 1024;
  // Pieces of sent data a stream tracks as acknowledged or lost.
  size_t max_send_ranges = 1024;
};

}  // namespace roam
