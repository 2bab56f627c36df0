// roam-server's daemon: one per user, holding every session.
#pragma once

#include <string>

#include "protocol/result.h"
#include "protocol/unique_fd.h"
#include "server/runtime_dir.h"

namespace roam::server {

// The runtime directory, locked for this daemon, with its control socket
// bound and listening.
struct Claim {
  UniqueFd lock;
  UniqueFd listener;
};

struct ClaimError {
  bool already_running = false;
  std::string message;
};

Result<Claim, ClaimError> claim_runtime_dir(const RuntimeDir& dir);

// Runs the daemon until its last session ends (or SIGTERM; with `persist`,
// only SIGTERM). Without `foreground` it detaches first; the caller's process
// then returns 0 as soon as the control socket accepts connections.
int run_daemon(const RuntimeDir& dir, Claim claim, bool foreground, bool persist);

}  // namespace roam::server
