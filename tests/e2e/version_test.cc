// A client and a server of different protocol versions (issue 13 item 14):
// on every path (local attach, roam connect; the ssh path is in
// remote_test.cc) the client says which versions meet, rather than blaming
// the network.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "protocol/crypto.h"
#include "protocol/datagram.h"
#include "protocol/fragment.h"
#include "protocol/instruction.h"
#include "protocol/unique_fd.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const int other_version = roam::protocol_version + 1;

std::string mismatch() {
  return "speaks protocol " + std::to_string(other_version) + ", this roam speaks " +
         std::to_string(roam::protocol_version);
}

// A UDP socket on 127.0.0.1 at a port of the kernel's choice.
roam::UniqueFd udp_socket(int& port) {
  roam::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

// One whole instruction as the next protocol version might send it: its
// version byte, then anything.
std::vector<uint8_t> other_version_payload(uint64_t instruction_id) {
  const std::vector<uint8_t> packed{0 /* stored, not compressed */, static_cast<uint8_t>(other_version), 0, 1, 0, 0};
  std::vector<uint8_t> out;
  roam::encode_fragment({instruction_id, 0, true, packed}, out);
  return out;
}

// The version notice of protocol/datagram.h: connection id 0, "roam", the version.
std::vector<uint8_t> notice(int version) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 'r', 'o', 'a', 'm', static_cast<uint8_t>(version)};
}

// A roam connect against a fake server on `fd`, which answers each datagram
// with answer(datagram); returns what the client printed and how long it ran.
std::pair<std::string, Clock::duration> connect_to_fake(
    int fd, const ConnectLine& line, const std::function<std::vector<uint8_t>(std::span<const uint8_t>)>& answer) {
  auto t = connect_client(line, line.port);
  const auto start = Clock::now();
  while (Clock::now() - start < 30s) {
    uint8_t buf[2048];
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n > 0) {
      const auto reply = answer({buf, static_cast<size_t>(n)});
      sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
    if (const auto status = t->wait_exit(0ms)) {
      CHECK(*status == 1);
      break;
    }
  }
  return {t->output(), Clock::now() - start};
}

}  // namespace

TEST_CASE("attack: a local roam attach to a roam-server of another protocol names both versions") {
  Sandbox sb;
  // The real roam-server, but its CONNECT line says it speaks the next version.
  const std::string fake = sb.dir() + "/roam-server";
  std::ofstream(fake) << "#!/bin/sh\n" << roam_server_bin() << " \"$@\" | sed 's/proto=[0-9]*/proto="
                      << other_version << "/'\n";
  chmod(fake.c_str(), 0755);
  auto t = attach_client(sb, "work", 80, 24, {"/bin/sh"}, {"--server=" + fake});
  const auto start = Clock::now();
  CHECK(t->wait_exit(30s) == 1);
  CHECK(Clock::now() - start < 8s);  // not the no-UDP-reply timeout
  CHECK_MESSAGE(t->output().find(mismatch()) != std::string::npos, t->output());
}

TEST_CASE("attack: roam connect to a server of another protocol names both versions") {
  int port = 0;
  auto fd = udp_socket(port);
  const ConnectLine line{port, "0123456789abcdef", roam::crypto::Key::random().to_base64()};
  SUBCASE("the server answers with a version notice") {
    const auto [out, took] =
        connect_to_fake(fd.get(), line, [](std::span<const uint8_t>) { return notice(other_version); });
    CHECK_MESSAGE(out.find("the roam-server at 127.0.0.1 port " + std::to_string(port) + " " + mismatch()) !=
                      std::string::npos,
                  out);
    // Unauthenticated: it changes the message, it does not end the session early.
    CHECK(took >= 9s);
  }
  SUBCASE("a notice from a server of our own version changes nothing") {
    const auto out = connect_to_fake(fd.get(), line,
                                     [](std::span<const uint8_t>) { return notice(roam::protocol_version); })
                         .first;
    CHECK_MESSAGE(out.find("no UDP reply") != std::string::npos, out);
  }
  SUBCASE("the server answers in its own protocol, authentically") {
    roam::DatagramCodec codec(*roam::crypto::Key::from_base64(line.key), *roam::parse_conn_id(line.id),
                              roam::crypto::Direction::to_client);
    uint64_t instructions = 0;
    const auto out = connect_to_fake(fd.get(), line, [&](std::span<const uint8_t>) {
                       const auto sealed = codec.seal(1, 0xffff, other_version_payload(instructions++));
                       return std::vector<uint8_t>(sealed->begin(), sealed->end());
                     }).first;
    CHECK_MESSAGE(out.find("the roam-server at 127.0.0.1 port " + std::to_string(port) + " " + mismatch()) !=
                      std::string::npos,
                  out);
  }
}

TEST_CASE("attack: the daemon answers a client of another protocol version with a version notice") {
  Sandbox sb;
  const auto line = sb.attach_line("work");
  REQUIRE(line.has_value());
  const auto id = roam::parse_conn_id(line->id);
  REQUIRE(id.has_value());
  roam::DatagramCodec codec(*roam::crypto::Key::from_base64(line->key), *id, roam::crypto::Direction::to_server);
  const auto sealed = codec.seal(1, 0xffff, other_version_payload(0));
  REQUIRE(sealed.has_value());
  int port = 0;
  auto fd = udp_socket(port);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<uint16_t>(line->port));
  std::vector<uint8_t> got;
  const bool answered = wait_until(
      [&] {
        sendto(fd.get(), sealed->data(), sealed->size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        pollfd p{fd.get(), POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) return false;
        uint8_t buf[2048];
        const ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
        if (n > 0) got.assign(buf, buf + n);
        return n > 0;
      },
      10s);
  REQUIRE(answered);
  CHECK(got == notice(roam::protocol_version));
  CHECK(sb.info_numbers()["dropped_version"] >= 1);
}
