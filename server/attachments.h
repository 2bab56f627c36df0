// Clients attached to sessions over UDP: one attachment per client, each
// with its own key, connection id and synchronisation state.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mux/session.h"
#include "protocol/connection.h"
#include "protocol/result.h"
#include "protocol/uv_handle.h"
#include "server/control_protocol.h"
#include "server/udp_endpoint.h"

namespace roam::server {

struct AttachmentLimits {
  uint64_t first_contact_ms = 60'000;            // dropped if the client never speaks
  uint64_t stale_ms = 30'000;                    // `roam ls` calls a client this silent stale
  uint64_t silent_stop_sending_ms = 40'000;      // stop sending to a silent client
  uint64_t sizeless_ms = 60'000;                 // a client this silent no longer sets the size
  uint64_t vanished_ms = 7ull * 24 * 3600 * 1000;  // dropped after this much silence
};

class Attachments {
 public:
  Attachments(uv_loop_t* loop, AttachmentLimits limits);
  ~Attachments();

  // A new attachment to `session`, the client's terminal being cols x rows.
  // Binds the UDP port (within [port_low, port_high]) on first use.
  Result<ConnectInfo, std::string> attach(mux::Session& session, int cols, int rows, uint16_t port_low,
                                          uint16_t port_high);
  void session_changed(mux::Session& session);
  void session_removed(mux::Session& session);
  // Clients attached to `session` and heard from recently; those silent
  // for longer (asleep, or killed without a word) are stale.
  uint32_t clients(const mux::Session& session) const;
  uint32_t stale_clients(const mux::Session& session) const;
  uint16_t port() const;
  // Attachments open now, and datagrams dropped since the daemon started
  // (closed attachments included), by reason: for roam-server info.
  std::vector<std::pair<std::string, uint64_t>> counters() const;

  // Tells every client that the server is stopping, a few times over a
  // few hundred milliseconds, then calls `done`.
  void farewell(std::function<void()> done);

  // An ended session whose attached client has seen the end.
  std::function<void(mux::Session&)> on_end_seen;
  // Attachments were closed (their memory freed).
  std::function<void()> on_closed;

 private:
  struct Attachment;
  void on_datagram(std::span<const uint8_t> datagram, const sockaddr* from);
  void service();
  void input(Attachment& a);
  void answer_history(Attachment& a);
  void refit(const mux::Session* session, uint64_t now);
  void say_farewell();
  bool attached(const Attachment& a, uint64_t now) const;
  bool sets_size(const Attachment& a, uint64_t now) const;

  uv_loop_t* loop_;
  AttachmentLimits limits_;
  std::unique_ptr<UdpEndpoint> endpoint_;
  std::map<uint64_t, std::unique_ptr<Attachment>> by_id_;
  UvHandle<uv_check_t> check_;  // after each loop iteration's I/O: send what is due
  UvHandle<uv_timer_t> timer_;  // wakes the loop when the next send is due
  UvHandle<uv_timer_t> farewell_timer_;
  int farewells_left_ = 0;
  std::function<void()> farewell_done_;
  uint64_t unroutable_ = 0;
  uint64_t history_line_requests_ = 0, history_searches_ = 0;
  DropCounters retired_;  // the drops of attachments already closed
  uint64_t retired_unsendable_ = 0;
};

}  // namespace roam::server
