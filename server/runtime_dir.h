// Where a user's daemon keeps its socket, lock and log:
// $ROAM_RUNTIME_DIR, else $XDG_RUNTIME_DIR/roam, else /tmp/roam-$UID.
#pragma once

#include <string>

#include "protocol/result.h"

namespace roam::server {

struct RuntimeDir {
  std::string path;
  std::string socket() const { return path + "/server.sock"; }
  std::string lock() const { return path + "/server.lock"; }
  std::string log() const { return path + "/server.log"; }
};

// Where the directory is, from the environment; nothing is touched.
RuntimeDir locate_runtime_dir();

// Creates the directory (mode 0700) if it is missing. Refuses one owned by
// someone else or open to group or others: the socket inside is the key to
// every session.
Result<void, std::string> prepare_runtime_dir(const RuntimeDir& dir);

}  // namespace roam::server
