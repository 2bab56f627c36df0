// The server→client state: what the session shows (its Screen) and how it
// stands (running or exited, how much history it has). Synchronised as mosh's
// SSP does it: the server sends the diff from the state the client
// acknowledged to its newest state, and the client applies it to a copy of
// that acknowledged state, so loss, reordering and duplication are harmless.
// The format is described in host_state.cc.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "protocol/result.h"
#include "protocol/screen.h"

namespace roam {

// The server's answer to one history request of the client's (a
// UserEvent::Kind::history_lines or history_search).
struct HistoryReply {
  enum class Kind : uint8_t { lines = 1, matches = 2 };
  Kind kind = Kind::lines;
  uint64_t request = 0;  // the number of the user event it answers
  // lines: rows[i] is history line first + i. A long request is answered in
  // parts, in order. What the server no longer holds (before history_begin)
  // or never had is left out, so the parts may hold fewer rows than asked
  // for, or none.
  uint64_t first = 0;
  std::vector<Row> rows;
  // matches: line numbers in the order searched.
  std::vector<uint64_t> matches;
  // The last reply to its request: for lines, nothing more comes; for
  // matches, the search reached the end of its range.
  bool complete = false;
  friend bool operator==(const HistoryReply&, const HistoryReply&) = default;
};

// A new field goes into diff_from, apply and unchanged_from, and into the
// unit test that changes each field.
struct HostState {
  Screen screen{80, 24};
  bool exited = false;       // the session's program has ended
  int32_t exit_code = 0;
  bool killed = false;       // with exited: the session was killed (roam kill), not left by its program
  uint64_t history_end = 0;    // number of history lines (absolute line numbers end here)
  uint64_t history_begin = 0;  // the oldest line still kept
  // How many of the client's user events reached the program at least
  // ~50 ms ago: the screen should reflect the keys among them.
  uint64_t echo_ack = 0;
  // The server is shutting down: this is its last state.
  bool server_stopping = false;

  // Replies to history requests, numbered from 0 in the order made: the
  // deque holds [replies_end - replies.size(), replies_end). The server
  // drops the ones the client has acknowledged (forget_acknowledged).
  std::vector<HistoryReply> replies;  // few: the oldest go first
  uint64_t replies_end = 0;
  uint64_t replies_begin() const { return replies_end - replies.size(); }
  // Adds a reply, its rows without their trailing default cells.
  void push_reply(HistoryReply reply);
  // The transport calls this once the peer holds `acked`.
  void forget_acknowledged(const HostState& acked);
  // For the client, once it has taken replies before `end`: their rows and
  // matches are freed, their places kept (later diffs count on them).
  void forget_reply_contents(uint64_t end);
  // The memory it holds (see Screen::held_bytes), for the transport's
  // bound on what received states hold together.
  size_t held_bytes() const;

  // Appends the diff that turns `old` into *this, starting with a format
  // version byte. Rows are matched by version, which names a content only
  // within one Screen's history: `old` must be an earlier copy of this same
  // state, or a default-constructed HostState (sent as a full repaint).
  void diff_from(const HostState& old, std::vector<uint8_t>& out) const;

  // Applies a diff made by diff_from(old) where *this == old; row versions
  // need not match the sender's. Malformed input returns an error and may
  // leave the state half changed: apply to a copy and drop it on error.
  Result<void> apply(std::span<const uint8_t> diff);

  // As a person sees it: Screen's equality (size, rows, cursor, modes, title,
  // icon name, bell count, clipboard; not versions), the session status,
  // the echo acknowledgement and the replies.
  friend bool operator==(const HostState&, const HostState&) = default;

  // Nothing new since `earlier`, an earlier copy of this same state: the
  // transport's test, by row versions rather than by cells (see
  // Screen::same_versions). Replies are only ever added or dropped, so
  // their numbers say whether they changed.
  bool unchanged_from(const HostState& earlier) const {
    return screen.same_versions(earlier.screen) && exited == earlier.exited && exit_code == earlier.exit_code &&
           killed == earlier.killed && server_stopping == earlier.server_stopping &&
           history_end == earlier.history_end && history_begin == earlier.history_begin &&
           echo_ack == earlier.echo_ack && replies_end == earlier.replies_end &&
           replies.size() == earlier.replies.size();
  }
};

}  // namespace roam
