#include "client/cli.h"

#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roam::client {

namespace {

constexpr std::string_view usage = R"(usage: roam [--server=PATH] COMMAND [ARGS...]

roam: a mobile shell with named sessions that keep their history.

commands:
  new NAME [--size COLSxROWS] [-- CMD ARGS...]   start a detached session
  ls                                            list sessions
  kill NAME                                     end a session
  rename OLD NEW                                rename a session
  history NAME [--lines N] [--grep TEXT] [-i] [--ansi]
                                                print a session's scrollback and screen

options:
  --server=PATH   the roam-server to run (default: beside roam, else on PATH)
  --version       print the version and exit
  --help          print this help (or COMMAND --help)
)";

bool executable_file(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// roam-server beside our own executable, else the first on PATH.
std::optional<std::string> find_server() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir.resize(dir.rfind('/') + 1);
    if (executable_file(dir + "roam-server")) return dir + "roam-server";
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string candidate = std::string(dirs.substr(0, colon)) + "/roam-server";
    if (executable_file(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

}  // namespace

int run_cli(int argc, char** argv) {
  std::optional<std::string> server;
  std::vector<std::string> args;
  bool passthrough = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (!passthrough && a.starts_with("--server=")) {
      server = std::string(a.substr(9));
    } else if (!passthrough && a == "--server" && i + 1 < argc) {
      server = argv[++i];
    } else {
      if (a == "--") passthrough = true;
      args.emplace_back(a);
    }
  }
  if (args.empty()) {
    fmt::print(stderr, "{}", usage);
    return 2;
  }
  const std::string& cmd = args[0];
  if (cmd == "--version" || cmd == "version") {
    fmt::print("roam {}\n", ROAM_VERSION);
    return 0;
  }
  if (cmd == "--help" || cmd == "help") {
    fmt::print("{}", usage);
    return 0;
  }
  static constexpr std::string_view local_commands[] = {"new", "ls", "list", "kill", "rename", "history"};
  if (std::find(std::begin(local_commands), std::end(local_commands), cmd) == std::end(local_commands)) {
    fmt::print(stderr, "roam: unknown command '{}'\n(see roam --help)\n", cmd);
    return 2;
  }
  if (!server) server = find_server();
  if (!server) {
    fmt::print(stderr, "roam: roam-server not found beside roam or on PATH (install it, or pass --server=PATH)\n");
    return 127;
  }
  // The session commands are roam-server's own; it prints their results.
  // argv[0] "roam": roam-server then speaks as roam in its messages.
  std::string name = "roam";
  std::vector<char*> exec_args{name.data()};
  for (auto& a : args) exec_args.push_back(a.data());
  exec_args.push_back(nullptr);
  execv(server->c_str(), exec_args.data());
  fmt::print(stderr, "roam: cannot run {}: {} (install roam-server, or pass --server=PATH)\n", *server,
             std::strerror(errno));
  return 127;
}

}  // namespace roam::client
