// The datagram opener and everything behind it. The fuzzer cannot forge an
// OCB tag, so the input is read as plaintexts: each is sealed with a fixed key
// and then received by a Connection holding the same key, which takes it
// through open -> fragment reassembly -> unpack -> instruction decoding, and
// an instruction's diff is applied to a UserState (the server's side).
// The raw input also goes to open() as it is: the unauthenticated path.
//
// Input: records of u16 length (little-endian) + body, where a body is
// timestamp[2] | timestamp_reply[2] | payload (a fragment). A length beyond
// the input takes the rest.
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/connection.h"
#include "protocol/crypto.h"
#include "protocol/datagram.h"
#include "protocol/user_state.h"

using namespace roam;

namespace {

constexpr ConnId conn_id = 0x0123456789abcdefULL;

const crypto::Key& fixed_key() {
  static const crypto::Key key = [] {
    std::array<uint8_t, crypto::key_size> bytes{};
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 17 + 1);
    return crypto::Key::from_bytes(bytes);
  }();
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);

  // Unauthenticated: whatever arrives on the port.
  (void)peek_conn_id(input);
  {
    DatagramCodec server(fixed_key(), conn_id, crypto::Direction::to_client);
    (void)server.open(input);
    // The same bytes behind a header naming our connection, so the cipher's
    // open (tag check) is reached too.
    std::vector<uint8_t> with_header(size + 16);
    for (int i = 0; i < 8; ++i) with_header[static_cast<size_t>(i)] = static_cast<uint8_t>(conn_id >> (56 - 8 * i));
    std::copy(input.begin(), input.end(), with_header.begin() + 16);
    (void)server.open(with_header);
  }

  // Authenticated: seal each record as the client would, receive as the server.
  DatagramCodec client(fixed_key(), conn_id, crypto::Direction::to_server);
  Connection server(fixed_key(), conn_id, crypto::Direction::to_client);
  UserState user;
  uint64_t now = 1000;
  for (size_t at = 0; at < size;) {
    size_t len = data[at];
    if (at + 1 < size) len |= static_cast<size_t>(data[at + 1]) << 8;
    at += 2;
    if (at > size) break;
    len = std::min(len, size - at);
    std::span<const uint8_t> body = input.subspan(at, len);
    at += len;
    if (body.size() < 4) continue;
    const auto ts = static_cast<uint16_t>(body[0] | body[1] << 8);
    const auto reply = static_cast<uint16_t>(body[2] | body[3] << 8);
    auto payload = body.subspan(4);
    if (payload.size() > max_datagram_payload) payload = payload.first(max_datagram_payload);
    auto sealed = client.seal(ts, reply, payload);
    if (!sealed) __builtin_trap();  // it fits, and sequence numbers cannot run out here
    now += 7;
    auto arrival = server.receive(*sealed, now);
    if (!arrival || !arrival->instruction) continue;
    UserState copy = user;
    if (copy.apply(arrival->instruction->diff)) user = std::move(copy);
  }
  return 0;
}
