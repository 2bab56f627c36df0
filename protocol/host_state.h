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

struct HostState {
  Screen screen{80, 24};
  bool exited = false;       // the session's program has ended
  int32_t exit_code = 0;
  uint64_t history_end = 0;  // number of history lines (absolute line numbers end here)

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
  // icon name, bell count, clipboard; not versions) and the session status.
  friend bool operator==(const HostState&, const HostState&) = default;
};

}  // namespace roam
