// The daemon's one UDP socket, shared by every attachment: datagrams are
// routed by the connection id they carry in clear.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "protocol/result.h"
#include "protocol/uv_handle.h"

namespace roam::server {

class UdpEndpoint {
 public:
  // Binds the first free port in [low, high], IPv6 and IPv4 together where
  // the host has IPv6, else IPv4 only.
  static Result<std::unique_ptr<UdpEndpoint>, std::string> bind(uv_loop_t* loop, uint16_t low, uint16_t high);

  uint16_t port() const { return port_; }
  std::function<void(std::span<const uint8_t>, const sockaddr*)> on_datagram;
  // Best effort, like the network: a full socket buffer drops the datagram.
  void send(std::span<const uint8_t> datagram, const sockaddr* to);

  uint64_t oversized() const { return oversized_; }

  struct Token {};
  UdpEndpoint(Token, uv_loop_t* loop);

 private:
  UvHandle<uv_udp_t> udp_;
  uint16_t port_ = 0;
  uint64_t oversized_ = 0;
};

}  // namespace roam::server
