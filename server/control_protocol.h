// The control socket's protocol between roam-server commands and the daemon:
// frames of u32 length (little-endian) + body; each body starts with the
// protocol version and a kind. A request gets one response, or for history a
// stream of data responses closed by an end response.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "protocol/result.h"

namespace roam::server {

// 2: kill_ended; a session's history lines kept and dropped.
inline constexpr uint8_t control_version = 2;
inline constexpr size_t max_request_size = 64 * 1024;
inline constexpr size_t max_response_size = 1 << 20;

struct Request {
  // kill_ended (roam kill --exited) is answered by the sessions it removed, names only.
  enum class Kind : uint8_t { new_session = 1, list, kill, rename, history, info, attach, kill_ended };
  explicit Request(Kind k = Kind::list) : kind(k) {}
  Kind kind;
  std::string name;      // new, kill, rename (from), history
  std::string new_name;  // rename
  // new, attach
  uint32_t cols = 80, rows = 24;
  std::string cwd;
  std::vector<std::string> argv;
  // attach: the UDP ports the daemon may listen on, if it does not yet
  uint16_t port_low = 60001, port_high = 60999;
  // history
  uint64_t lines = 0;  // the newest N lines; 0 for all
  std::string grep;
  bool ansi = false;
  bool ignore_case = false;
};

struct SessionInfo {
  std::string name;
  uint32_t cols = 0, rows = 0;
  int64_t created = 0, last_activity = 0;  // Unix seconds
  uint32_t clients = 0;        // attached and heard from recently
  uint32_t stale_clients = 0;  // attached but silent for a while (asleep, or dead without a word)
  std::string command;
  std::optional<int32_t> exit_status;  // set once the program has ended
  uint64_t history_lines = 0;    // kept
  uint64_t history_dropped = 0;  // the oldest, dropped by the history limits
};

struct DaemonInfo {
  int64_t pid = 0;
  std::string version;
  std::string runtime_dir;
  uint32_t udp_port = 0;  // 0 until the daemon listens on UDP
  uint32_t sessions = 0;
  // Named counters (attachments, datagrams dropped and why...), in order.
  std::vector<std::pair<std::string, uint64_t>> counters;
};

// Where and how a client reaches its new attachment.
struct ConnectInfo {
  uint16_t port = 0;
  uint64_t conn_id = 0;
  std::string key;  // base64
  int64_t daemon_pid = 0;  // for clients on this host: they can tell when it is gone
};

struct Response {
  enum class Kind : uint8_t { ok = 1, error, sessions, data, end, info, connect };
  explicit Response(Kind k = Kind::ok, std::string t = {}) : kind(k), text(std::move(t)) {}
  Kind kind;
  std::string text;  // error message or data
  std::vector<SessionInfo> sessions;
  DaemonInfo info;
  ConnectInfo connect;
};

// Encoders append one whole frame (length prefix included).
void encode(const Request& r, std::vector<uint8_t>& out);
void encode(const Response& r, std::vector<uint8_t>& out);
// Decoders take one frame's body (without the length prefix).
Result<Request> decode_request(std::span<const uint8_t> body);
Result<Response> decode_response(std::span<const uint8_t> body);

// Splits frames off the front of a byte stream. Returns the body of the
// first complete frame and how many bytes it took, nothing while more bytes
// are needed, or too_large when the declared length exceeds `max`.
struct FrameView {
  std::span<const uint8_t> body;
  size_t consumed;
};
Result<std::optional<FrameView>> next_frame(std::span<const uint8_t> stream, size_t max);

// The version a body declares, for a clear message on a mismatch.
std::optional<uint8_t> body_version(std::span<const uint8_t> body);

}  // namespace roam::server
