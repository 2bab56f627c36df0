// Sessions on other hosts: ssh does the authentication and runs roam-server
// there; only the attachment itself then travels over UDP.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/bootstrap.h"
#include "client/carry.h"
#include "protocol/result.h"

namespace roam::client {

struct RemoteOptions {
  std::vector<std::string> ssh{"ssh"};  // --ssh="ssh -p 2222 -i KEY"
  std::string server = "roam-server";   // --server=PATH on the remote host
  bool server_given = false;            // --server: never carry our own
  InstallServer install_server = InstallServer::ask;  // --install-server
  std::string ports;                    // --port=P|LOW:HIGH for the remote daemon
  int family = 0;                       // AF_INET (-4), AF_INET6 (-6) or 0
};

// Where a session lives: "NAME" (here), "[user@]host:NAME", "[v6addr]:NAME".
struct Destination {
  std::string host;  // empty: this machine; as given to ssh ([user@]host)
  std::string name;
  std::string shown_host() const;  // the host without user@ or brackets
};
Destination parse_destination(std::string_view arg);

// Splits a command line on blanks, honouring single and double quotes.
std::vector<std::string> split_command(std::string_view text);
// Quotes one word for the remote shell that ssh hands the command to.
std::string shell_quote(std::string_view word);

// Runs `ssh HOST -- SERVER attach NAME --size COLSxROWS ...` and reads the
// CONNECT line; the UDP target is the address ssh reached, else HOST. Where
// HOST has no roam-server, ours is carried there first (client/carry.h).
// Failures are one-line messages; an empty one means ssh already explained.
Result<ConnectTarget, std::string> bootstrap_ssh(const RemoteOptions& options, const Destination& where, int cols,
                                                 int rows, const std::vector<std::string>& command);

// Runs `ssh HOST -- SERVER ARGS...` with our stdio; returns the exit status
// after explaining ssh failures and a missing roam-server.
int run_remote(const RemoteOptions& options, const std::string& host, const std::vector<std::string>& server_args);

}  // namespace roam::client
