// A scripted roam server for attacks on the client: it holds the key it gives
// the real `roam connect` and speaks the real protocol (UDP, AES-OCB,
// instructions), but sends whatever diffs a test makes, honest or not.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <string_view>

#include "protocol/connection.h"
#include "protocol/crypto.h"
#include "protocol/host_state.h"
#include "tests/e2e/harness.h"

namespace roam::e2e {

class ScriptedServer {
 public:
  ScriptedServer();  // on 127.0.0.1, a free port; throws if it cannot bind
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  // What `roam connect 127.0.0.1 PORT` needs (see connect_client).
  ConnectLine line() const;
  int port() const { return port_; }
  // The newest of our states the client has acknowledged holding.
  uint64_t acked() const { return acked_; }

  // Reads what the client sent (waiting up to `wait` for the first); true
  // once the client has been heard, so that there is somewhere to send.
  bool pump(std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  // Sends "your state `from_num` (which was `from`) becomes `num`: `state`".
  void send(uint64_t from_num, uint64_t num, const HostState& from, const HostState& state);
  void send(const Instruction& in);

 private:
  uint64_t now() const;
  crypto::Key key_;
  ConnId id_;
  Connection connection_;
  int fd_ = -1;
  int port_ = 0;
  std::chrono::steady_clock::time_point start_;
  sockaddr_storage client_{};
  socklen_t client_len_ = 0;
  uint64_t acked_ = 0;
};

// Writes ASCII `text` at the start of row y, in the default pen.
void write_text(Screen& s, int y, std::string_view text);

}  // namespace roam::e2e
