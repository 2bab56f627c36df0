#include "server/control_protocol.h"

#include "protocol/wire.h"

namespace roam::server {

namespace {

constexpr size_t max_string = 64 * 1024;
constexpr size_t max_args = 1024;
constexpr size_t max_sessions = 100000;
constexpr size_t max_counters = 64;

// Reserves the length prefix, lets `body` write, then fills the prefix in.
template <class F>
void frame(std::vector<uint8_t>& out, uint8_t kind, F body) {
  const size_t start = out.size();
  out.resize(start + 4);
  wire::Writer w(out);
  w.u8(control_version);
  w.u8(kind);
  body(w);
  const auto len = static_cast<uint32_t>(out.size() - start - 4);
  for (int i = 0; i < 4; ++i) out[start + i] = static_cast<uint8_t>(len >> (8 * i));
}

std::string str(wire::Reader& r) {
  auto b = r.bytes(max_string);
  return b ? std::string(wire::as_chars(*b)) : std::string();
}

Result<uint8_t> header(wire::Reader& r, uint8_t max_kind) {
  auto version = r.u8();
  auto kind = r.u8();
  if (!r.ok()) return fail(Errc::truncated);
  if (*version != control_version) return fail(Errc::bad_version);
  if (*kind < 1 || *kind > max_kind) return fail(Errc::malformed);
  return *kind;
}

}  // namespace

void encode(const Request& r, std::vector<uint8_t>& out) {
  frame(out, static_cast<uint8_t>(r.kind), [&](wire::Writer& w) {
    switch (r.kind) {
      case Request::Kind::new_session:
      case Request::Kind::attach:
        w.bytes(r.name);
        w.varint(r.cols);
        w.varint(r.rows);
        w.bytes(r.cwd);
        w.varint(r.argv.size());
        for (const auto& a : r.argv) w.bytes(a);
        if (r.kind == Request::Kind::attach) {
          w.u16(r.port_low);
          w.u16(r.port_high);
        }
        break;
      case Request::Kind::kill: w.bytes(r.name); break;
      case Request::Kind::rename:
        w.bytes(r.name);
        w.bytes(r.new_name);
        break;
      case Request::Kind::history:
        w.bytes(r.name);
        w.varint(r.lines);
        w.bytes(r.grep);
        w.u8(static_cast<uint8_t>((r.ansi ? 1 : 0) | (r.ignore_case ? 2 : 0)));
        break;
      case Request::Kind::list:
      case Request::Kind::info:
      case Request::Kind::kill_ended: break;
    }
  });
}

Result<Request> decode_request(std::span<const uint8_t> body) {
  wire::Reader r(body);
  auto kind = header(r, static_cast<uint8_t>(Request::Kind::kill_ended));
  if (!kind) return fail(kind.error());
  Request q;
  q.kind = static_cast<Request::Kind>(*kind);
  switch (q.kind) {
    case Request::Kind::new_session:
    case Request::Kind::attach: {
      q.name = str(r);
      auto cols = r.varint(10000);
      auto rows = r.varint(10000);
      q.cwd = str(r);
      auto argc = r.varint(max_args);
      if (!r.ok()) break;
      q.cols = static_cast<uint32_t>(*cols);
      q.rows = static_cast<uint32_t>(*rows);
      for (uint64_t i = 0; i < *argc && r.ok(); ++i) q.argv.push_back(str(r));
      if (q.kind == Request::Kind::attach) {
        auto low = r.u16();
        auto high = r.u16();
        if (!r.ok()) break;
        q.port_low = *low;
        q.port_high = *high;
      }
      break;
    }
    case Request::Kind::kill: q.name = str(r); break;
    case Request::Kind::rename:
      q.name = str(r);
      q.new_name = str(r);
      break;
    case Request::Kind::history: {
      q.name = str(r);
      auto lines = r.varint();
      q.grep = str(r);
      auto flags = r.u8();
      if (!r.ok()) break;
      q.lines = *lines;
      q.ansi = *flags & 1;
      q.ignore_case = *flags & 2;
      break;
    }
    case Request::Kind::list:
    case Request::Kind::info:
    case Request::Kind::kill_ended: break;
  }
  if (auto done = r.finish(); !done) return fail(done.error());
  return q;
}

void encode(const Response& r, std::vector<uint8_t>& out) {
  frame(out, static_cast<uint8_t>(r.kind), [&](wire::Writer& w) {
    switch (r.kind) {
      case Response::Kind::error:
      case Response::Kind::data: w.bytes(r.text); break;
      case Response::Kind::sessions:
        w.varint(r.sessions.size());
        for (const auto& s : r.sessions) {
          w.bytes(s.name);
          w.varint(s.cols);
          w.varint(s.rows);
          w.u64(static_cast<uint64_t>(s.created));
          w.u64(static_cast<uint64_t>(s.last_activity));
          w.varint(s.clients);
          w.varint(s.stale_clients);
          w.bytes(s.command);
          w.u8(s.exit_status ? 1 : 0);
          w.u32(static_cast<uint32_t>(s.exit_status.value_or(0)));
          w.varint(s.history_lines);
          w.varint(s.history_dropped);
        }
        break;
      case Response::Kind::info:
        w.u64(static_cast<uint64_t>(r.info.pid));
        w.bytes(r.info.version);
        w.bytes(r.info.runtime_dir);
        w.varint(r.info.udp_port);
        w.varint(r.info.sessions);
        w.varint(r.info.counters.size());
        for (const auto& [name, value] : r.info.counters) {
          w.bytes(name);
          w.varint(value);
        }
        break;
      case Response::Kind::connect:
        w.u16(r.connect.port);
        w.u64(r.connect.conn_id);
        w.bytes(r.connect.key);
        w.u64(static_cast<uint64_t>(r.connect.daemon_pid));
        break;
      case Response::Kind::ok:
      case Response::Kind::end: break;
    }
  });
}

Result<Response> decode_response(std::span<const uint8_t> body) {
  wire::Reader r(body);
  auto kind = header(r, static_cast<uint8_t>(Response::Kind::connect));
  if (!kind) return fail(kind.error());
  Response p;
  p.kind = static_cast<Response::Kind>(*kind);
  switch (p.kind) {
    case Response::Kind::error:
    case Response::Kind::data: {
      auto b = r.bytes(max_response_size);
      if (b) p.text.assign(wire::as_chars(*b));
      break;
    }
    case Response::Kind::sessions: {
      auto n = r.varint(max_sessions);
      for (uint64_t i = 0; r.ok() && i < *n; ++i) {
        SessionInfo s;
        s.name = str(r);
        auto cols = r.varint(10000);
        auto rows = r.varint(10000);
        auto created = r.u64();
        auto activity = r.u64();
        auto clients = r.varint(UINT32_MAX);
        auto stale = r.varint(UINT32_MAX);
        s.command = str(r);
        auto ended = r.u8();
        auto status = r.u32();
        auto kept = r.varint();
        auto dropped = r.varint();
        if (!r.ok()) break;
        s.history_lines = *kept;
        s.history_dropped = *dropped;
        s.cols = static_cast<uint32_t>(*cols);
        s.rows = static_cast<uint32_t>(*rows);
        s.created = static_cast<int64_t>(*created);
        s.last_activity = static_cast<int64_t>(*activity);
        s.clients = static_cast<uint32_t>(*clients);
        s.stale_clients = static_cast<uint32_t>(*stale);
        if (*ended) s.exit_status = static_cast<int32_t>(*status);
        p.sessions.push_back(std::move(s));
      }
      break;
    }
    case Response::Kind::info: {
      auto pid = r.u64();
      p.info.version = str(r);
      p.info.runtime_dir = str(r);
      auto port = r.varint(65535);
      auto sessions = r.varint(UINT32_MAX);
      auto counters = r.varint(max_counters);
      if (!r.ok()) break;
      p.info.pid = static_cast<int64_t>(*pid);
      p.info.udp_port = static_cast<uint32_t>(*port);
      p.info.sessions = static_cast<uint32_t>(*sessions);
      for (uint64_t i = 0; i < *counters && r.ok(); ++i) {
        std::string name = str(r);
        auto value = r.varint();
        if (value) p.info.counters.emplace_back(std::move(name), *value);
      }
      break;
    }
    case Response::Kind::connect: {
      auto port = r.u16();
      auto id = r.u64();
      p.connect.key = str(r);
      auto pid = r.u64();
      if (!r.ok()) break;
      p.connect.port = *port;
      p.connect.conn_id = *id;
      p.connect.daemon_pid = static_cast<int64_t>(*pid);
      break;
    }
    case Response::Kind::ok:
    case Response::Kind::end: break;
  }
  if (auto done = r.finish(); !done) return fail(done.error());
  return p;
}

Result<std::optional<FrameView>> next_frame(std::span<const uint8_t> stream, size_t max) {
  wire::Reader r(stream);
  auto len = r.u32();
  if (!len) return std::optional<FrameView>{};
  if (*len > max) return fail(Errc::too_large);
  if (r.remaining() < *len) return std::optional<FrameView>{};
  return std::optional<FrameView>{FrameView{stream.subspan(4, *len), 4 + size_t{*len}}};
}

std::optional<uint8_t> body_version(std::span<const uint8_t> body) {
  if (body.empty()) return std::nullopt;
  return body[0];
}

}  // namespace roam::server
