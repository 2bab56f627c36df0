// The client's UDP socket towards the server, and roaming: after a long
// silence it moves to a fresh local port (a NAT mapping may have been lost
// while the laptop slept), keeping the old socket open a while for
// datagrams already on their way.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "protocol/uv_handle.h"

namespace roam::client {

class UdpLink {
 public:
  UdpLink(uv_loop_t* loop, const sockaddr_storage& server);

  // Every datagram that arrives, on the current socket or the lingering one.
  std::function<void(std::span<const uint8_t>)> on_datagram;
  // A version notice (protocol/datagram.h) arrived: the server speaks `version`.
  std::function<void(uint8_t version)> on_version_notice;

  void open();
  void send(std::span<const uint8_t> datagram);
  // Moves to a new local port.
  void rebind(uint64_t now);
  // Closes the old socket once its time is up; returns when to look again.
  std::optional<uint64_t> tick(uint64_t now);
  uint64_t last_rebind() const { return last_rebind_; }
  void close();

 private:
  UvHandle<uv_udp_t> socket();
  void received(std::span<const uint8_t> datagram);

  uv_loop_t* loop_;
  sockaddr_storage server_;
  UvHandle<uv_udp_t> udp_, old_udp_;
  std::optional<uint64_t> old_udp_until_;
  uint64_t last_rebind_ = 0;
};

}  // namespace roam::client
