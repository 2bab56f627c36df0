#include "client/udp_link.h"

#include "protocol/datagram.h"

namespace roam::client {

namespace {

// The old socket stays open this long for datagrams already on their way.
constexpr uint64_t old_socket_linger_ms = 5'000;

}  // namespace

UdpLink::UdpLink(uv_loop_t* loop, const sockaddr_storage& server) : loop_(loop), server_(server) {}

UvHandle<uv_udp_t> UdpLink::socket() {
  UvHandle<uv_udp_t> udp;
  uv_udp_init_ex(loop_, udp.get(), server_.ss_family);
  udp.get()->data = this;
  uv_udp_recv_start(
      udp.get(),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char slab[65536];
        *buf = uv_buf_init(slab, sizeof slab);
      },
      [](uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr*, unsigned) {
        if (n > 0)
          static_cast<UdpLink*>(h->data)->received({reinterpret_cast<uint8_t*>(buf->base), static_cast<size_t>(n)});
      });
  return udp;
}

void UdpLink::received(std::span<const uint8_t> datagram) {
  if (const auto version = parse_version_notice(datagram)) {
    if (on_version_notice) on_version_notice(*version);
    return;
  }
  if (on_datagram) on_datagram(datagram);
}

void UdpLink::open() { udp_ = socket(); }

void UdpLink::send(std::span<const uint8_t> datagram) {
  uv_buf_t b =
      uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(datagram.data())), static_cast<unsigned>(datagram.size()));
  (void)uv_udp_try_send(udp_.get(), &b, 1, reinterpret_cast<const sockaddr*>(&server_));
}

void UdpLink::rebind(uint64_t now) {
  old_udp_ = std::move(udp_);
  old_udp_until_ = now + old_socket_linger_ms;
  udp_ = socket();
  last_rebind_ = now;
}

std::optional<uint64_t> UdpLink::tick(uint64_t now) {
  if (old_udp_until_ && now >= *old_udp_until_) {
    old_udp_.close();
    old_udp_until_.reset();
  }
  return old_udp_until_;
}

void UdpLink::close() {
  udp_.close();
  old_udp_.close();
}

}  // namespace roam::client
