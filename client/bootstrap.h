// Getting an attachment: run `roam-server attach` and read its CONNECT line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace roam::client {

struct ConnectTarget {
  std::string host;   // where UDP goes
  std::string label;  // how messages name the server (the host as typed); host if empty
  uint16_t port = 0;
  uint64_t conn_id = 0;
  std::string key;   // base64; kept in memory only
  int protocol = 1;  // proto=; lines without it come from version 1
  std::string addr;  // addr=: where the server was reached, if it said
  int daemon_pid = 0;  // pid=: the daemon's process, if it said
  // The daemon runs on this machine (bootstrap_local): its pid is ours to watch.
  bool local = false;
  // How the user gets this session back, for messages ("roam attach box:work").
  std::string reattach;
};

// "the roam-server <where> speaks protocol N, this roam speaks M": the one
// message for a version mismatch, whichever way it was found.
std::string version_mismatch(std::string_view where, int theirs);
// Fails with version_mismatch when the CONNECT line's proto= is not ours.
Result<void, std::string> check_protocol(const ConnectTarget& target, std::string_view where);

// roam-server beside our own executable, else the first on PATH.
std::optional<std::string> find_server();

// Parses "ROAM CONNECT <port> <conn-id> <key> [name=value...]" (proto=,
// pid=, addr=; unknown names are ignored, so servers can say more later).
Result<ConnectTarget, std::string> parse_connect_line(std::string_view line);

// Runs `server attach NAME --size COLSxROWS [-- CMD...]` locally. Its errors
// go to our stderr; the CONNECT line comes back through a pipe.
Result<ConnectTarget, std::string> bootstrap_local(const std::string& server, const std::string& name, int cols,
                                                   int rows, const std::vector<std::string>& command);

}  // namespace roam::client
