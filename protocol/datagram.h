// One UDP datagram: conn_id[8] | seq[8] | OCB(plaintext) | tag[16], where the
// plaintext is timestamp[2] | timestamp_reply[2] | payload (a fragment).
// The connection id travels in clear so one server port can route many
// attachments; it is authenticated as associated data. The sequence number
// (with its direction bit) is the nonce, so it is authenticated too.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/result.h"

namespace roam {

inline constexpr size_t max_datagram_size = 1280;
inline constexpr size_t datagram_header_size = 16;
inline constexpr size_t datagram_overhead = datagram_header_size + crypto::tag_size + 4;
inline constexpr size_t max_datagram_payload = max_datagram_size - datagram_overhead;

using ConnId = uint64_t;

std::string format_conn_id(ConnId id);  // 16 lower-case hex digits
std::optional<ConnId> parse_conn_id(std::string_view text);

// The routing key, readable before authentication. Nothing else is trusted
// until open() succeeds.
std::optional<ConnId> peek_conn_id(std::span<const uint8_t> datagram);

// A version notice, in clear: conn_id 0 (no attachment has it) | "roam" |
// u8 protocol version. A server sends one to a client whose authentic
// datagrams speak a protocol version it does not, so the client can say
// which versions met instead of blaming the network. Anyone can forge one:
// a client lets it change only the message it shows, never the session.
// Every future version must keep this format.
inline constexpr size_t version_notice_size = 13;
std::array<uint8_t, version_notice_size> version_notice(uint8_t version);
std::optional<uint8_t> parse_version_notice(std::span<const uint8_t> datagram);

struct OpenedDatagram {
  uint64_t seq;  // with the direction bit
  uint16_t timestamp;
  uint16_t timestamp_reply;
  std::span<const uint8_t> payload;  // valid until the codec's next call
};

// Seals and opens the datagrams of one connection as seen from one end.
class DatagramCodec {
 public:
  DatagramCodec(const crypto::Key& key, ConnId conn_id, crypto::Direction outgoing);

  // The sealed datagram, valid until the next call. Fails when the payload
  // does not fit or the sequence numbers are used up.
  Result<std::span<const uint8_t>> seal(uint16_t timestamp, uint16_t timestamp_reply,
                                        std::span<const uint8_t> payload);
  // Authenticates and decrypts. Refuses another connection's datagrams,
  // datagrams in our own direction (reflections) and anything forged.
  Result<OpenedDatagram> open(std::span<const uint8_t> datagram);

  ConnId conn_id() const { return conn_id_; }

 private:
  crypto::Cipher cipher_;
  ConnId conn_id_;
  crypto::Direction outgoing_;
  crypto::SequenceCounter sequence_;
  std::array<uint8_t, 8> aad_{};  // the connection id as it is on the wire
  std::vector<uint8_t> sealed_, plain_;
};

}  // namespace roam
