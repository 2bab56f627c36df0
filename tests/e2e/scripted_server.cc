#include "tests/e2e/scripted_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <random>
#include <stdexcept>

#include "protocol/datagram.h"

namespace roam::e2e {

namespace {

ConnId random_id() {
  std::random_device rd;
  return uint64_t{rd()} << 32 | rd();
}

}  // namespace

ScriptedServer::ScriptedServer()
    : key_(crypto::Key::random()),
      id_(random_id()),
      connection_(key_, id_, crypto::Direction::to_client),
      fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)),
      start_(std::chrono::steady_clock::now()) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("scripted server: cannot bind a UDP port");
  port_ = ntohs(a.sin_port);
  const int big = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
}

ScriptedServer::~ScriptedServer() {
  if (fd_ >= 0) close(fd_);
}

ConnectLine ScriptedServer::line() const { return {port_, format_conn_id(id_), key_.to_base64()}; }

uint64_t ScriptedServer::now() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count());
}

bool ScriptedServer::pump(std::chrono::milliseconds wait) {
  pollfd p{fd_, POLLIN, 0};
  while (poll(&p, 1, static_cast<int>(wait.count())) > 0) {
    uint8_t buf[2048];
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n <= 0) break;
    if (auto got = connection_.receive({buf, static_cast<size_t>(n)}, now())) {
      client_ = from;
      client_len_ = len;
      if (got->instruction) acked_ = got->instruction->ack_num;
    }
    wait = std::chrono::milliseconds(0);
  }
  return client_len_ > 0;
}

void ScriptedServer::send(uint64_t from_num, uint64_t num, const HostState& from, const HostState& state) {
  Instruction in;
  in.old_num = from_num;
  in.new_num = num;
  state.diff_from(from, in.diff);
  send(in);
}

void ScriptedServer::send(const Instruction& in) {
  auto sent = connection_.send(in, now(), [&](std::span<const uint8_t> d) {
    sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&client_), client_len_);
  });
  if (!sent) throw std::runtime_error("scripted server: instruction too large to send");
  pump();
}

void write_text(Screen& s, int y, std::string_view text) {
  for (size_t x = 0; x < text.size(); ++x) {
    const uint32_t chars[2] = {static_cast<unsigned char>(text[x]), 0};
    s.put(static_cast<int>(x), y, chars, 1, Pen{});
  }
}

}  // namespace roam::e2e
