#include "client/cli.h"

#include "client/bootstrap.h"
#include "client/connect.h"
#include "client/remote.h"
#include "client/tty.h"

#include <openssl/crypto.h>
#include <sys/socket.h>
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

constexpr std::string_view usage = R"(usage: roam [OPTIONS] COMMAND [ARGS...]

roam: a mobile shell with named sessions that keep their history.

A session is NAME on this machine, or [user@]HOST:NAME (IPv6: [ADDR]:NAME) on
another, reached through ssh; the session then runs over UDP.

commands:
  attach SESSION [-- CMD ARGS...]               attach, starting the session if needed
  connect HOST PORT                             attach with ROAM_CONN_ID and ROAM_KEY from the
                                                environment (what roam attach does after its bootstrap)
  new SESSION [--size COLSxROWS] [-- CMD ARGS...]  start a detached session
  ls [HOST] [--long]                            list sessions (--long: history lines kept, dropped)
  kill SESSION | --exited                       end a session (its programs get SIGHUP, then SIGKILL
                                                after 2 s); --exited: remove every ended session
  rename SESSION NEW                            rename a session
  history SESSION [--lines N] [--grep TEXT] [-i] [--ansi]
                                                print a session's scrollback and screen

inside a session:
  Ctrl-^ d (or .)   detach; the session lives on
  Ctrl-^ [ (or PgUp)  the history pager: PgUp/PgDn, j/k, g/G, / and ? search,
                    n/N next match, v/y copy a range or line, q leaves
  Ctrl-^ Ctrl-Z     suspend roam (fg brings it back)
  Ctrl-^ ^          send a literal Ctrl-^
  Ctrl-^ ?          show the keys
  Ctrl-L            repaint the screen (and pass Ctrl-L on)

options (before the command):
  --server=PATH   the roam-server to run (here: default beside roam, else on PATH;
                  on another host: default roam-server on its PATH)
  --ssh=COMMAND   the ssh to use, e.g. --ssh="ssh -p 2222 -i KEY" (default ssh)
  --install-server=ask|yes|no  when another host has no roam-server, copy
                  roam's own there (into ~/.cache/roam/bin, checked before it
                  runs): ask first (default; no without a terminal), yes, or no
  --port=P|LOW:HIGH  the UDP ports a remote daemon may use when it starts (60001:60999)
  -4, -6          IPv4 or IPv6 only
  --no-native-scrollback  do not copy the session's scrolled-off rows into
                  this terminal's own scrollback
  --native-scrollback-lines=N  after an outage or a flood, copy at most the
                  newest N rows (1000); the pager (Ctrl-^ [) has them all
  --predict=WHEN  show typed characters before the server echoes them:
                  adaptive (default; on slow links), always or never;
                  also ROAM_PREDICT=WHEN
  --no-predict-at-prompts  predict as mosh does: the first keys at a new
                  shell prompt wait for the server's echo
  --version       print the version and exit
  --help          print this help (or COMMAND --help)
)";

int attach(const std::vector<std::string>& args, std::optional<std::string> server, const RemoteOptions& remote,
           const ClientOptions& options) {
  if (args.size() < 2 || args[1].starts_with("-")) {
    fmt::print(stderr, "roam: usage: roam attach [[user@]HOST:]NAME [-- CMD ARGS...]\n");
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
  const Destination where = parse_destination(args[1]);
  Result<ConnectTarget, std::string> target = fail(std::string());
  if (!where.host.empty()) {
    target = bootstrap_ssh(remote, where, size->cols, size->rows, command);
  } else {
    if (!server) server = find_server();
    if (!server) {
      fmt::print(stderr, "roam: roam-server not found beside roam or on PATH (install it, or pass --server=PATH)\n");
      return 127;
    }
    target = bootstrap_local(*server, where.name, size->cols, size->rows, command);
  }
  if (!target) {
    if (!target.error().empty()) fmt::print(stderr, "roam: {}\n", target.error());
    return 1;
  }
  return run_connect(*target, where.name, options);
}

// The low-level client, as mosh-client is to mosh.
int connect(const std::vector<std::string>& args, const ClientOptions& options) {
  // Take the secrets out of our environment at once, bytes included:
  // unsetenv alone leaves them readable in /proc/PID/environ.
  auto take = [](std::string_view name) {
    std::string value;
    if (char* v = std::getenv(std::string(name).c_str())) {
      value = v;
      // The whole NAME=value entry, which getenv's result points into.
      char* entry = v - name.size() - 1;
      OPENSSL_cleanse(entry, name.size() + 1 + value.size());
    }
    unsetenv(std::string(name).c_str());
    return value;
  };
  std::string id_text = take("ROAM_CONN_ID"), key_text = take("ROAM_KEY");
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
  return run_connect(*target, args[1], options);
}

// The global options, which come before the command: argv[i] on return is
// the command. An exit status if one is wrong.
struct Globals {
  RemoteOptions remote;
  ClientOptions options;
  std::optional<std::string> server;
};

std::optional<int> parse_globals(int argc, char** argv, int& i, Globals& g) {
  for (; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view option) -> std::optional<std::string> {
      if (a.starts_with(std::string(option) + "=")) return std::string(a.substr(option.size() + 1));
      if (a == option && i + 1 < argc) return std::string(argv[++i]);
      return std::nullopt;
    };
    auto refuse = [](std::string_view why) {
      fmt::print(stderr, "roam: {}\n", why);
      return 2;
    };
    if (auto v = value("--server")) {
      g.server = *v;
    } else if (auto v = value("--ssh")) {
      g.remote.ssh = split_command(*v);
      if (g.remote.ssh.empty()) return refuse("--ssh needs a command");
    } else if (auto v = value("--install-server")) {
      const auto mode = parse_install_server(*v);
      if (!mode) return refuse("--install-server takes ask, yes or no");
      g.remote.install_server = *mode;
    } else if (auto v = value("--port")) {
      g.remote.ports = *v;
    } else if (a == "-4" || a == "-6") {
      g.remote.family = a == "-4" ? AF_INET : AF_INET6;
    } else if (a == "--no-native-scrollback") {
      g.options.native_scrollback = false;
    } else if (auto v = value("--predict")) {
      const auto mode = parse_predict_mode(*v);
      if (!mode) return refuse("--predict takes adaptive, always or never");
      g.options.predict = *mode;
    } else if (a == "--no-predict-at-prompts") {
      g.options.predict_at_prompts = false;
    } else if (auto v = value("--native-scrollback-lines")) {
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0' || n > 1'000'000)
        return refuse("--native-scrollback-lines takes a number of lines up to 1000000");
      g.options.native_scrollback_lines = n;
    } else {
      break;
    }
  }
  return std::nullopt;
}

// new, ls, kill, rename, history: run by roam-server, here or over ssh.
int session_command(std::vector<std::string>& args, std::optional<std::string> server, const RemoteOptions& remote) {
  const std::string& cmd = args[0];
  // "ls HOST", or a HOST:NAME first argument: the command runs there, over ssh.
  if (args.size() > 1 && !args[1].starts_with("-")) {
    const bool list = cmd == "ls" || cmd == "list";
    const Destination where = list ? Destination{args[1], {}} : parse_destination(args[1]);
    if (!where.host.empty()) {
      std::vector<std::string> server_args(args.begin(), args.end());
      if (list) server_args.erase(server_args.begin() + 1);
      else server_args[1] = where.name;
      return run_remote(remote, where.host, server_args);
    }
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

}  // namespace

int run_cli(int argc, char** argv) {
  Globals g;
  if (const char* env = std::getenv("ROAM_PREDICT")) {
    if (auto mode = parse_predict_mode(env)) g.options.predict = *mode;
  }
  int i = 1;
  if (auto status = parse_globals(argc, argv, i, g)) return *status;
  std::vector<std::string> args(argv + i, argv + argc);
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
  if (g.server) {
    g.remote.server = *g.server;
    g.remote.server_given = true;
  }
  if (cmd == "attach") return attach(args, g.server, g.remote, g.options);
  if (cmd == "connect") return connect(args, g.options);
  static constexpr std::string_view session_commands[] = {"new", "ls", "list", "kill", "rename", "history"};
  if (std::find(std::begin(session_commands), std::end(session_commands), cmd) == std::end(session_commands)) {
    fmt::print(stderr, "roam: unknown command '{}'\n(see roam --help)\n", cmd);
    return 2;
  }
  return session_command(args, g.server, g.remote);
}

}  // namespace roam::client
