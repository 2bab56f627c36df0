#include "protocol/datagram.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "protocol/wire.h"

namespace roam {

std::string format_conn_id(ConnId id) { return fmt::format("{:016x}", id); }

std::optional<ConnId> parse_conn_id(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  ConnId id = 0;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  std::from_chars(text.data(), text.data() + text.size(), id, 16);
  return id;
}

std::optional<ConnId> peek_conn_id(std::span<const uint8_t> datagram) {
  wire::Reader r(datagram);
  auto id = r.u64();
  if (!id) return std::nullopt;
  return *id;
}

namespace {
constexpr std::string_view notice_magic = "roam";
}

std::array<uint8_t, version_notice_size> version_notice(uint8_t version) {
  std::array<uint8_t, version_notice_size> out{};
  std::copy(notice_magic.begin(), notice_magic.end(), out.begin() + 8);
  out.back() = version;
  return out;
}

std::optional<uint8_t> parse_version_notice(std::span<const uint8_t> datagram) {
  if (datagram.size() != version_notice_size) return std::nullopt;
  const auto expected = version_notice(datagram.back());
  if (!std::equal(expected.begin(), expected.end(), datagram.begin())) return std::nullopt;
  return datagram.back();
}

DatagramCodec::DatagramCodec(const crypto::Key& key, ConnId conn_id, crypto::Direction outgoing)
    : cipher_(key), conn_id_(conn_id), outgoing_(outgoing), sequence_(outgoing) {
  std::vector<uint8_t> id;
  wire::Writer(id).u64(conn_id);
  std::copy(id.begin(), id.end(), aad_.begin());
  sealed_.reserve(max_datagram_size + 16);
  plain_.reserve(max_datagram_size);
}

Result<std::span<const uint8_t>> DatagramCodec::seal(uint16_t timestamp, uint16_t timestamp_reply,
                                                     std::span<const uint8_t> payload) {
  if (payload.size() > max_datagram_payload) return fail(Errc::too_large);
  auto nonce = sequence_.next();
  if (!nonce) return fail(nonce.error());
  sealed_.clear();
  wire::Writer w(sealed_);
  w.u64(conn_id_);
  w.u64(nonce->value());
  plain_.clear();
  wire::Writer p(plain_);
  p.u16(timestamp);
  p.u16(timestamp_reply);
  p.raw(payload);
  cipher_.seal(nonce->bytes(), std::span<const uint8_t>(aad_), plain_, sealed_);
  return std::span<const uint8_t>(sealed_);
}

Result<OpenedDatagram> DatagramCodec::open(std::span<const uint8_t> datagram) {
  if (datagram.size() > max_datagram_size) return fail(Errc::too_large);
  wire::Reader r(datagram);
  auto conn = r.u64();
  auto seq = r.u64();
  if (!r.ok() || r.remaining() < crypto::tag_size + 4) return fail(Errc::truncated);
  if (*conn != conn_id_) return fail(Errc::malformed);
  const auto nonce = crypto::Nonce::from_value(*seq);
  if (nonce.direction() == outgoing_) return fail(Errc::wrong_direction);
  plain_.clear();
  auto opened = cipher_.open(nonce.bytes(), datagram.first(8), r.rest(), plain_);
  if (!opened) return fail(opened.error());
  wire::Reader p(plain_);
  auto ts = p.u16();
  auto reply = p.u16();
  if (!p.ok()) return fail(Errc::truncated);
  return OpenedDatagram{*seq, *ts, *reply, p.rest()};
}

}  // namespace roam
