// Where a user's daemon keeps its socket, lock and log:
// $ROAM_RUNTIME_DIR, else $XDG_RUNTIME_DIR/roam, else /tmp/roam-$UID.
#pragma once

#include <sys/types.h>

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

// Whether the directory can be trusted, looked at with lstat: a real
// directory (not a symlink), ours, mode 0700. Another user could otherwise
// pre-create /tmp/roam-$UID with a socket of their own in it. False: it does
// not exist; an error names what is wrong (and whose it is).
Result<bool, std::string> check_runtime_dir(const RuntimeDir& dir);

// Creates the directory (mode 0700) if it is missing, then checks it as
// check_runtime_dir does: the socket inside is the key to every session.
Result<void, std::string> prepare_runtime_dir(const RuntimeDir& dir);

// "uid 1001 (bob)", or "uid 1001" for a uid without a name.
std::string describe_uid(uid_t uid);

}  // namespace roam::server
