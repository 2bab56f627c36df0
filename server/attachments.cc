#include "server/attachments.h"

#include <openssl/rand.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <deque>

#include "protocol/host_state.h"
#include "protocol/instruction.h"
#include "protocol/limits.h"
#include "protocol/transport.h"
#include "protocol/user_state.h"
#include "server/log.h"

namespace roam::server {

namespace {

// After a detach, keep answering retransmissions for a little while.
constexpr uint64_t detach_linger_ms = 3000;
// Input counts as echoed (HostState::echo_ack) this long after it reached
// the program, as in mosh: time for the program to answer it.
constexpr uint64_t echo_delay_ms = 50;
// History rows in replies the client has not acknowledged: beyond this,
// answers wait, so that screen updates never queue behind history.
constexpr size_t reply_rows_in_flight = 256;
// One reply holds at most this many rows; longer requests are answered in parts.
constexpr uint64_t rows_per_reply = 128;
// Matches per search reply: enough for a screenful of `n` presses.
constexpr size_t matches_per_reply = 64;
// Input the program has not read yet: beyond this the client's events wait
// in its state, unconsumed and so not echoed (HostState::echo_ack), and the
// client's own window holds the rest of a paste back.
constexpr size_t input_backlog_limit = 256 * 1024;
// A state with this many key bytes comes from a paste: acknowledge it at
// once rather than after the delayed-ack time, as the client sends its next
// part only when this one is acknowledged.
constexpr size_t bulk_ack_bytes = 16 * 1024;
// A client of another protocol version gets at most one notice this often.
constexpr uint64_t version_notice_interval_ms = 1000;
// When the daemon stops, it tells its clients this many times, this far apart.
constexpr int farewell_copies = 3;
constexpr uint64_t farewell_interval_ms = 100;
// History requests waiting for an answer; a client asks for a few at a time,
// so more than this is not a client of ours, and the rest are ignored.
constexpr size_t max_history_wanted = 1024;

uint64_t random_id() {
  uint64_t id = 0;
  while (id == 0)
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id) != 1) throw std::runtime_error("RAND_bytes failed");
  return id;
}

}  // namespace

struct Attachments::Attachment {
  Attachment(uint64_t id, const crypto::Key& key, mux::Session* s, int c, int r, uint64_t now)
      : transport(key, id, crypto::Direction::to_client), session(s), cols(c), rows(r), created_at(now) {}

  Transport<HostState, UserState> transport;
  mux::Session* session;  // null once the session is gone
  int cols, rows;         // the client's terminal
  uint64_t created_at;
  std::optional<sockaddr_storage> peer;  // where the newest authentic datagram came from
  uint64_t newest_seq = 0;
  uint64_t consumed = 0;    // user events already acted on
  bool dirty = true;        // the session changed since the last refresh
  uint64_t wake_at = 0;
  std::optional<uint64_t> detached_at;
  // The client said goodbye, but its input before that still waits for the program.
  bool leaving = false;
  bool input_blocked = false;  // events wait for the program to read (input_backlog_limit)
  bool sized = true;           // it counted for the session's size when last looked at
  std::optional<uint64_t> notice_at;  // the last version notice sent
  uint64_t last_input_at = 0;
  // Input not yet acknowledged as echoed: (events consumed, when).
  std::deque<std::pair<uint64_t, uint64_t>> unechoed;
  struct Wanted {
    UserEvent request;
    uint64_t id;  // its event number
  };
  std::deque<Wanted> history_wanted;  // requests not yet (fully) answered
};

Attachments::Attachments(uv_loop_t* loop, AttachmentLimits limits) : loop_(loop), limits_(limits) {
  uv_check_init(loop, check_.get());
  check_.get()->data = this;
  uv_check_start(check_.get(), [](uv_check_t* c) { static_cast<Attachments*>(c->data)->service(); });
  uv_timer_init(loop, timer_.get());
  timer_.get()->data = this;
  uv_timer_init(loop, farewell_timer_.get());
  farewell_timer_.get()->data = this;
}

Attachments::~Attachments() = default;

uint16_t Attachments::port() const { return endpoint_ ? endpoint_->port() : 0; }

Result<ConnectInfo, std::string> Attachments::attach(mux::Session& session, int cols, int rows, uint16_t port_low,
                                                     uint16_t port_high) {
  if (!endpoint_) {
    auto ep = UdpEndpoint::bind(loop_, port_low, port_high);
    if (!ep) return fail(ep.error());
    endpoint_ = std::move(*ep);
    endpoint_->on_datagram = [this](std::span<const uint8_t> d, const sockaddr* from) { on_datagram(d, from); };
    log("listening on UDP port {}", endpoint_->port());
  }
  uint64_t id = random_id();
  while (by_id_.contains(id)) id = random_id();
  const crypto::Key key = crypto::Key::random();
  auto a = std::make_unique<Attachment>(id, key, &session, cols, rows, uv_now(loop_));
  a->last_input_at = uv_now(loop_);
  by_id_.emplace(id, std::move(a));
  log("session {}: attachment {} created ({}x{})", session.name(), format_conn_id(id), cols, rows);
  return ConnectInfo{endpoint_->port(), id, key.to_base64()};
}

std::vector<std::pair<std::string, uint64_t>> Attachments::counters() const {
  DropCounters d = retired_;
  uint64_t unsendable = retired_unsendable_;
  for (const auto& [id, a] : by_id_) {
    d += a->transport.connection().drops();
    unsendable += a->transport.connection().unsendable();
  }
  return {{"attachments", by_id_.size()},
          {"dropped_auth", d.auth_failed},
          {"dropped_direction", d.wrong_direction},
          {"dropped_malformed", d.malformed},
          {"dropped_unknown_state", d.unknown_state},
          {"dropped_stale", d.stale},
          {"dropped_version", d.bad_version},
          {"dropped_over_limit", d.over_limit},
          {"duplicates", d.duplicate},
          {"dropped_unroutable", unroutable_},
          {"dropped_oversized", endpoint_ ? endpoint_->oversized() : 0},
          {"history_line_requests", history_line_requests_},
          {"history_searches", history_searches_},
          {"unsendable", unsendable}};
}

void Attachments::session_changed(mux::Session& session) {
  for (auto& [id, a] : by_id_)
    if (a->session == &session) a->dirty = true;
}

void Attachments::session_removed(mux::Session& session) {
  for (auto& [id, a] : by_id_) {
    if (a->session != &session) continue;
    // Keep the final screen; the client learns the session is gone, and
    // whether it went by itself or was killed.
    HostState& state = a->transport.local();
    if (!state.exited) {
      state.exited = true;
      state.exit_code = session.exit_status().value_or(-1);
    }
    state.killed = !session.ended();
    a->session = nullptr;
  }
}

namespace {

// When the client was last heard from; an attachment nobody used yet counts from its creation.
template <class A>
uint64_t heard_at(const A& a) {
  return a.peer ? a.transport.connection().last_heard() : a.created_at;
}

}  // namespace

bool Attachments::attached(const Attachment& a, uint64_t now) const {
  return !a.detached_at && !a.leaving && now - heard_at(a) <= limits_.stale_ms;
}

bool Attachments::sets_size(const Attachment& a, uint64_t now) const {
  return a.session && !a.detached_at && !a.leaving && now - heard_at(a) <= limits_.sizeless_ms;
}

uint32_t Attachments::clients(const mux::Session& session) const {
  const uint64_t now = uv_now(loop_);
  uint32_t n = 0;
  for (const auto& [id, a] : by_id_) n += a->session == &session && attached(*a, now);
  return n;
}

uint32_t Attachments::stale_clients(const mux::Session& session) const {
  const uint64_t now = uv_now(loop_);
  uint32_t n = 0;
  for (const auto& [id, a] : by_id_)
    n += a->session == &session && !a->detached_at && !a->leaving && !attached(*a, now);
  return n;
}

// A client that set the session's size left or went silent: the size is
// the most recently active live client's again (tmux's window-size latest).
// `session` may be gone meanwhile (its last client saw it end): then no
// attachment names it any more and nothing happens.
void Attachments::refit(const mux::Session* session, uint64_t now) {
  const Attachment* latest = nullptr;
  for (const auto& [id, a] : by_id_)
    if (a->session == session && sets_size(*a, now) && (!latest || a->last_input_at > latest->last_input_at))
      latest = a.get();
  if (latest) latest->session->resize(latest->cols, latest->rows);
}

void Attachments::farewell(std::function<void()> done) {
  if (!endpoint_ || by_id_.empty()) return done();
  farewell_done_ = std::move(done);
  farewells_left_ = farewell_copies;
  for (auto& [id, a] : by_id_) a->transport.local().server_stopping = true;
  say_farewell();
}

// Once more to every client we can reach: nobody will be here to resend.
void Attachments::say_farewell() {
  const uint64_t now = uv_now(loop_);
  for (auto& [id, a] : by_id_) {
    if (!a->peer) continue;
    const sockaddr* to = reinterpret_cast<const sockaddr*>(&*a->peer);
    a->transport.resend(now, [&](std::span<const uint8_t> d) { endpoint_->send(d, to); });
  }
  if (--farewells_left_ > 0) {
    uv_timer_start(farewell_timer_.get(), [](uv_timer_t* t) { static_cast<Attachments*>(t->data)->say_farewell(); },
                   farewell_interval_ms, 0);
    return;
  }
  if (auto done = std::move(farewell_done_)) done();
}

void Attachments::on_datagram(std::span<const uint8_t> datagram, const sockaddr* from) {
  const auto id = peek_conn_id(datagram);
  auto it = id ? by_id_.find(*id) : by_id_.end();
  if (it == by_id_.end()) {
    ++unroutable_;
    return;
  }
  Attachment& a = *it->second;
  const uint64_t now = uv_now(loop_);
  const uint64_t other_versions = a.transport.connection().drops().bad_version;
  const auto got = a.transport.receive(datagram, now);
  if (!got.accepted) {
    // Its key is right but its protocol is not ours: say which we speak.
    if (a.transport.connection().drops().bad_version > other_versions &&
        (!a.notice_at || now - *a.notice_at >= version_notice_interval_ms)) {
      a.notice_at = now;
      endpoint_->send(version_notice(protocol_version), from);
    }
    return;
  }
  // The client's size counts from its first authentic datagram, not from the
  // bootstrap: an attachment nobody uses must not re-wrap the session. Then
  // the newest client's size wins, as tmux's window-size latest.
  if (!a.peer && a.session) a.session->resize(a.cols, a.rows);
  // Roaming: follow the client to the address of its newest datagram, never
  // back to an older one (a replay from elsewhere must not divert us).
  if (!a.peer || got.seq > a.newest_seq) {
    sockaddr_storage addr{};
    std::memcpy(&addr, from, from->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    if (a.peer && std::memcmp(&*a.peer, &addr, sizeof addr) != 0)
      log("attachment {}: client moved", format_conn_id(it->first));
    a.peer = addr;
    a.newest_seq = got.seq;
  }
  if (got.new_state) input(a);
  a.wake_at = now;  // answer promptly: acks, and frames the client may be waiting for
}

// Acts on the client's new events: keystrokes to the program, resizes,
// detach. Keys wait (and everything after them) while the program has not
// read what it was given.
void Attachments::input(Attachment& a) {
  UserState& events = a.transport.remote_mut();
  if (events.key_bytes() >= bulk_ack_bytes) a.transport.nudge();
  const uint64_t before = a.consumed;
  uint64_t i = std::max(a.consumed, events.begin());
  a.input_blocked = false;
  for (; i < events.end(); ++i) {
    const UserEvent& e = events.at(i);
    if (e.kind == UserEvent::Kind::keys && a.session && a.session->input_backlog() >= input_backlog_limit) {
      a.input_blocked = true;
      break;
    }
    switch (e.kind) {
      case UserEvent::Kind::keys:
        if (!a.session) break;
        a.last_input_at = uv_now(loop_);
        // The most recently active client sets the session's size.
        a.session->resize(a.cols, a.rows);
        a.session->input(e.keys);
        break;
      case UserEvent::Kind::resize:
        if (!limits::session_size_ok(e.cols, e.rows)) break;
        a.cols = e.cols;
        a.rows = e.rows;
        if (a.session) a.session->resize(a.cols, a.rows);
        break;
      case UserEvent::Kind::detach:
        if (!a.detached_at) {
          a.detached_at = uv_now(loop_);
          log("attachment {}: client detached", format_conn_id(a.transport.connection().conn_id()));
        }
        break;
      case UserEvent::Kind::history_lines:
      case UserEvent::Kind::history_search:
        ++(e.kind == UserEvent::Kind::history_lines ? history_line_requests_ : history_searches_);
        if (a.history_wanted.size() >= max_history_wanted) break;
        // Urgent ones go after the urgent ones already waiting, before the rest.
        if (e.urgent && e.kind == UserEvent::Kind::history_lines) {
          auto at = std::find_if(a.history_wanted.begin(), a.history_wanted.end(),
                                 [](const Attachment::Wanted& w) { return !w.request.urgent; });
          a.history_wanted.insert(at, {e, i});
        } else {
          a.history_wanted.push_back({e, i});
        }
        break;
    }
  }
  a.consumed = std::max(a.consumed, i);
  for (; i < events.end() && !a.leaving; ++i) a.leaving = events.at(i).kind == UserEvent::Kind::detach;
  if (a.consumed > before) a.unechoed.emplace_back(a.consumed, uv_now(loop_));
  events.forget_before(a.consumed);
}

namespace {

// What a reply counts against the budget of rows in flight: a match number
// costs a few bytes where a row costs tens, and an empty reply still costs.
size_t weight(const HistoryReply& r) { return r.rows.size() + r.matches.size() / 16 + 1; }

}  // namespace

// Moves answers to history requests into the state, as far as the budget
// of rows in flight allows.
void Attachments::answer_history(Attachment& a) {
  HostState& state = a.transport.local();
  const mux::History& history = a.session->history();
  size_t in_flight = 0;
  for (const HistoryReply& r : state.replies) in_flight += weight(r);
  while (!a.history_wanted.empty() && (in_flight < reply_rows_in_flight || a.history_wanted.front().request.urgent)) {
    UserEvent& want = a.history_wanted.front().request;
    // Someone is looking at an empty page: it goes out without waiting for
    // the frame interval.
    if (want.urgent) a.transport.hurry();
    HistoryReply reply;
    reply.request = a.history_wanted.front().id;
    bool done = true;
    if (want.kind == UserEvent::Kind::history_lines) {
      reply.kind = HistoryReply::Kind::lines;
      const uint64_t from = std::max(want.from, history.begin());
      const uint64_t to = std::min(want.to, history.end());
      if (from < to) {
        const uint64_t count = std::min(to - from, rows_per_reply);
        if (auto rows = history.read(from, count)) {
          reply.first = from;
          reply.rows = std::move(*rows);
          want.from = from + count;
          done = want.from >= to;
        }
      } else {
        reply.first = std::min(want.from, history.end());
      }
      reply.complete = done;
    } else {
      reply.kind = HistoryReply::Kind::matches;
      mux::SearchOptions options;
      options.backward = want.backward;
      options.case_sensitive = want.case_sensitive;
      options.from = want.backward ? std::min(want.from, want.to - 1) : want.from;
      options.max_results = matches_per_reply + 1;
      auto found = want.to == 0 ? std::vector<uint64_t>{} : history.search(want.keys, options);
      std::erase_if(found, [&](uint64_t line) { return line >= want.to; });
      reply.complete = found.size() <= matches_per_reply;
      if (!reply.complete) found.resize(matches_per_reply);
      reply.matches = std::move(found);
      // The page the client will show around the first match, ahead of the
      // answer: a search costs one round trip, not two.
      if (!reply.matches.empty()) {
        const uint64_t page = static_cast<uint64_t>(std::max(1, a.rows - 1));
        const uint64_t m = reply.matches.front();
        const uint64_t from = std::max(history.begin(), m - std::min(m, page / 3));
        const uint64_t to = std::min(history.end(), from + page);
        if (auto rows = history.read(from, to - from)) {
          HistoryReply lines;
          lines.request = reply.request;
          lines.first = from;
          lines.rows = std::move(*rows);
          lines.complete = true;
          in_flight += weight(lines);
          state.push_reply(std::move(lines));
        }
      }
    }
    in_flight += weight(reply);
    state.push_reply(std::move(reply));
    if (done) a.history_wanted.pop_front();
  }
}

void Attachments::service() {
  if (!endpoint_) return;
  const uint64_t now = uv_now(loop_);
  uint64_t next = UINT64_MAX;
  bool closed = false;
  std::vector<mux::Session*> unsized;  // sessions whose size-setting client left
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    Attachment& a = *it->second;
    const uint64_t heard = a.transport.connection().last_heard();
    if (a.sized && !sets_size(a, now)) {
      a.sized = false;
      if (a.session) unsized.push_back(a.session);
    }
    if (a.input_blocked && a.session && a.session->input_backlog() < input_backlog_limit) input(a);
    const bool contacted = a.peer.has_value();
    const HostState& shown = a.transport.local();
    bool drop = false;
    if (!contacted && now - a.created_at > limits_.first_contact_ms) drop = true;
    if (contacted && now - heard > limits_.vanished_ms) drop = true;
    // The client acknowledged the final state, so it has shown the end: the
    // session goes now, and the attachment lingers as after a detach.
    if (shown.exited && a.transport.idle() && contacted && !a.detached_at) {
      a.detached_at = now;
      if (a.session && on_end_seen) on_end_seen(*a.session);
    }
    if (a.detached_at && now - *a.detached_at > detach_linger_ms) drop = true;
    if (drop) {
      log("attachment {} closed", format_conn_id(it->first));
      retired_ += a.transport.connection().drops();
      retired_unsendable_ += a.transport.connection().unsendable();
      if (a.sized && a.session) unsized.push_back(a.session);
      it = by_id_.erase(it);
      closed = true;
      continue;
    }
    ++it;
    if (!contacted || now - heard > limits_.silent_stop_sending_ms) continue;
    if (a.dirty && a.session) {
      HostState& state = a.transport.local();
      state.screen = a.session->terminal().screen();
      state.history_end = a.session->history().end();
      state.history_begin = a.session->history().begin();
      if (a.session->ended()) {
        state.exited = true;
        state.exit_code = a.session->exit_status().value_or(-1);
      }
      a.dirty = false;
      a.wake_at = now;
    }
    if (a.session && !a.history_wanted.empty()) {
      answer_history(a);
      a.wake_at = now;
    }
    HostState& state = a.transport.local();
    while (!a.unechoed.empty() && now >= a.unechoed.front().second + echo_delay_ms) {
      state.echo_ack = a.unechoed.front().first;
      a.unechoed.pop_front();
      a.wake_at = now;
    }
    if (!a.unechoed.empty()) next = std::min(next, a.unechoed.front().second + echo_delay_ms);
    if (now >= a.wake_at) {
      const sockaddr* to = reinterpret_cast<const sockaddr*>(&*a.peer);
      a.wake_at = a.transport.tick(now, [&](std::span<const uint8_t> d) { endpoint_->send(d, to); });
    }
    next = std::min(next, a.wake_at);
  }
  for (const mux::Session* session : unsized) refit(session, now);
  // Silence alone takes a client's say over the size away: look again then.
  for (const auto& [id, a] : by_id_)
    if (a->sized) next = std::min(next, heard_at(*a) + limits_.sizeless_ms + 1);
  // The timer must do the work itself: libuv 1.44 runs check handles only
  // after the next poll returns, which without I/O is not before the next
  // timer, so a timer that only woke the loop left paced frames, echo
  // acknowledgements and history answers waiting for the client's next
  // datagram.
  if (next != UINT64_MAX)
    uv_timer_start(timer_.get(), [](uv_timer_t* t) { static_cast<Attachments*>(t->data)->service(); },
                   next > now ? next - now : 0, 0);
  if (closed && on_closed) on_closed();
}

}  // namespace roam::server
