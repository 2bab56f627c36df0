#include "client/cli.h"

#include "client/bootstrap.h"
#include "client/connect.h"
#include "client/tty.h"

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
  attach NAME [-- CMD ARGS...]                  attach to session NAME, starting it if needed
  connect HOST PORT                             attach with ROAM_CONN_ID and ROAM_KEY from the
                                                environment (what roam attach does after its bootstrap)
  new NAME [--size COLSxROWS] [-- CMD ARGS...]   start a detached session
  ls                                            list sessions
  kill NAME                                     end a session
  rename OLD NEW                                rename a session
  history NAME [--lines N] [--grep TEXT] [-i] [--ansi]
                                                print a session's scrollback and screen

inside a session:
  Ctrl-^ d (or .)   detach; the session lives on
  Ctrl-^ ^          send a literal Ctrl-^
  Ctrl-^ ?          show the keys
  Ctrl-L            repaint the screen (and pass Ctrl-L on)

options:
  --server=PATH   the roam-server to run (default: beside roam, else on PATH)
  --version       print the version and exit
  --help          print this help (or COMMAND --help)
)";

int attach(const std::vector<std::string>& args, std::optional<std::string> server) {
  if (args.size() < 2 || args[1].starts_with("-")) {
    fmt::print(stderr, "roam: usage: roam attach NAME [-- CMD ARGS...]\n");
    return 2;
  }
  std::vector<std::string> command;
  if (args.size() > 2) {
    if (args[2] != "--") {
      fmt::print(stderr, "roam: put the command after '--': roam attach NAME -- CMD ARGS...\n");
      return 2;
    }
    command.assign(args.begin() + 3, args.end());
  }
  const auto size = terminal_size(STDOUT_FILENO);
  if (!size || !isatty(STDIN_FILENO)) {
    fmt::print(stderr, "roam: attach needs a terminal (stdin and stdout must be a tty)\n");
    return 1;
  }
  if (!server) server = find_server();
  if (!server) {
    fmt::print(stderr, "roam: roam-server not found beside roam or on PATH (install it, or pass --server=PATH)\n");
    return 127;
  }
  auto target = bootstrap_local(*server, args[1], size->cols, size->rows, command);
  if (!target) {
    if (!target.error().empty()) fmt::print(stderr, "roam: {}\n", target.error());
    return 1;
  }
  return run_connect(*target, args[1]);
}

// The low-level client, as mosh-client is to mosh.
int connect(const std::vector<std::string>& args) {
  // Take the secrets out of our environment at once: nothing we start sees them.
  const char* id_env = std::getenv("ROAM_CONN_ID");
  const char* key_env = std::getenv("ROAM_KEY");
  std::string id_text = id_env ? id_env : "", key_text = key_env ? key_env : "";
  unsetenv("ROAM_CONN_ID");
  unsetenv("ROAM_KEY");
  if (args.size() != 3) {
    fmt::print(stderr, "roam: usage: ROAM_CONN_ID=ID ROAM_KEY=KEY roam connect HOST PORT\n");
    return 2;
  }
  if (id_text.empty() || key_text.empty()) {
    fmt::print(stderr, "roam: connect needs ROAM_CONN_ID and ROAM_KEY in the environment\n");
    return 2;
  }
  auto target = parse_connect_line(fmt::format("ROAM CONNECT {} {} {}", args[2], id_text, key_text));
  if (!target) {
    fmt::print(stderr, "roam: bad port, ROAM_CONN_ID or ROAM_KEY ({})\n", target.error());
    return 2;
  }
  target->host = args[1];
  if (!isatty(STDIN_FILENO)) {
    fmt::print(stderr, "roam: connect needs a terminal\n");
    return 1;
  }
  return run_connect(*target, args[1]);
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
  if (cmd == "attach") return attach(args, server);
  if (cmd == "connect") return connect(args);
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
