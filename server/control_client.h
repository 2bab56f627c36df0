// The command side of the control socket: connect to the user's daemon
// (starting it if asked), send one request, read the answers.
#pragma once

#include <string>

#include "protocol/result.h"
#include "protocol/unique_fd.h"
#include "server/control_protocol.h"
#include "server/runtime_dir.h"

namespace roam::server {

struct ConnectError {
  bool not_running = false;  // no daemon, and we were not asked to start one
  std::string message;
};

class ControlClient {
 public:
  // With `start`, a missing daemon is started (as `self daemon`) first.
  static Result<ControlClient, ConnectError> connect(const RuntimeDir& dir, bool start);

  Result<void, std::string> send(const Request& r);
  Result<Response, std::string> receive();

 private:
  explicit ControlClient(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::vector<uint8_t> in_;
};

}  // namespace roam::server
