// Carrying roam-server to a host that has none: roam ships a roam-server for
// its own system and architecture (portable when built with
// -Dportable_server=true), and copies it over the same ssh into the remote
// user's ~/.cache/roam/bin, checked before it ever runs.
//
// The remote side is two one-line POSIX sh scripts, run through the user's
// login shell (so they hold no single quote, backslash or '!', which fish or
// csh would read):
//  - run: exec roam-server from PATH if there is one, else the cached copy of
//    our version if its sha256 matches (or, without sha256sum, its --version
//    does), else report "need" with `uname -sm` and exit 97;
//  - install: check `uname -sm`, write stdin (exactly SIZE bytes) to a
//    temporary name under umask 077, check the size, the sha256 (or the
//    --version) and that it runs, rename it into place, exec it.
// What the scripts report travels on stderr as lines starting with `marker`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace roam::client {

enum class InstallServer { ask, yes, no };
std::optional<InstallServer> parse_install_server(std::string_view text);

struct CarriedServer {
  std::string path;
  std::string system;  // as `uname -sm` prints it: "Linux x86_64"
  std::string sha256;  // lower-case hex
  uint64_t size = 0;
};

// The roam-server this roam carries: ../libexec/roam/roam-server-OS-ARCH
// from roam's own directory (an install), else roam-server-OS-ARCH beside
// roam (a build directory). Nothing if there is none or it cannot be read.
std::optional<CarriedServer> find_carried_server();

namespace carry {

inline constexpr std::string_view marker = "ROAM CARRY ";
inline constexpr int status = 97;  // the scripts' exit status when they report

// The remote command line (for ssh) running `roam-server ARGS...`.
std::string run_command(const CarriedServer& s, const std::vector<std::string>& server_args);
// The same, installing the copy that arrives on stdin first.
std::string install_command(const CarriedServer& s, const std::vector<std::string>& server_args);

// What a script reported, as the one-line message a user sees; `host` names
// the remote host. Nothing for "need" (which asks for an install).
struct Report {
  bool need = false;
  std::string remote_system;  // with need, or arch
  std::string message;        // set for failures
};
Report explain(const std::vector<std::string>& marked, const CarriedServer& s, const std::string& host);

}  // namespace carry

}  // namespace roam::client
