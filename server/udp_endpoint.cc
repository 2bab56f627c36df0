#include "server/udp_endpoint.h"

#include <fmt/format.h>

#include "protocol/datagram.h"

namespace roam::server {

UdpEndpoint::UdpEndpoint(Token, uv_loop_t* loop) {
  uv_udp_init_ex(loop, udp_.get(), AF_INET6);
  udp_.get()->data = this;
}

Result<std::unique_ptr<UdpEndpoint>, std::string> UdpEndpoint::bind(uv_loop_t* loop, uint16_t low, uint16_t high) {
  if (low == 0 || low > high) return fail(fmt::format("invalid port range {}:{}", low, high));
  int last_error = 0;
  for (const bool v6 : {true, false}) {
    for (uint32_t port = low; port <= high; ++port) {
      auto ep = std::make_unique<UdpEndpoint>(Token{}, loop);
      if (!v6) {
        ep->udp_ = UvHandle<uv_udp_t>();
        uv_udp_init_ex(loop, ep->udp_.get(), AF_INET);
        ep->udp_.get()->data = ep.get();
      }
      sockaddr_storage addr{};
      if (v6) uv_ip6_addr("::", static_cast<int>(port), reinterpret_cast<sockaddr_in6*>(&addr));
      else uv_ip4_addr("0.0.0.0", static_cast<int>(port), reinterpret_cast<sockaddr_in*>(&addr));
      last_error = uv_udp_bind(ep->udp_.get(), reinterpret_cast<const sockaddr*>(&addr), 0);
      if (last_error == UV_EADDRINUSE) continue;
      if (last_error != 0) break;  // no IPv6 here: try IPv4
      ep->port_ = static_cast<uint16_t>(port);
      uv_udp_recv_start(
          ep->udp_.get(),
          [](uv_handle_t*, size_t, uv_buf_t* buf) {
            // Larger than any datagram we accept, so oversized ones are seen and counted.
            static char slab[65536];
            *buf = uv_buf_init(slab, sizeof slab);
          },
          [](uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* from, unsigned) {
            auto* self = static_cast<UdpEndpoint*>(h->data);
            if (n <= 0 || !from) return;
            if (static_cast<size_t>(n) > max_datagram_size) {
              ++self->oversized_;
              return;
            }
            if (self->on_datagram)
              self->on_datagram({reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n)}, from);
          });
      return ep;
    }
  }
  return fail(last_error == UV_EADDRINUSE ? fmt::format("no free UDP port in {}-{}", low, high)
                                          : fmt::format("cannot bind a UDP port: {}", uv_strerror(last_error)));
}

void UdpEndpoint::send(std::span<const uint8_t> datagram, const sockaddr* to) {
  uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(datagram.data())),
                           static_cast<unsigned>(datagram.size()));
  (void)uv_udp_try_send(udp_.get(), &b, 1, to);
}

}  // namespace roam::server
