// Getting an attachment: run `roam-server attach` and read its CONNECT line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/result.h"

namespace roam::client {

struct ConnectTarget {
  std::string host;
  uint16_t port = 0;
  uint64_t conn_id = 0;
  std::string key;  // base64; kept in memory only
};

// roam-server beside our own executable, else the first on PATH.
std::optional<std::string> find_server();

// Parses "ROAM CONNECT <port> <conn-id> <key>".
Result<ConnectTarget, std::string> parse_connect_line(std::string_view line);

// Runs `server attach NAME --size COLSxROWS [-- CMD...]` locally. Its errors
// go to our stderr; the CONNECT line comes back through a pipe.
Result<ConnectTarget, std::string> bootstrap_local(const std::string& server, const std::string& name, int cols,
                                                   int rows, const std::vector<std::string>& command);

}  // namespace roam::client
