#include "server/commands.h"

#include <unistd.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <ctime>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "mux/registry.h"
#include "protocol/datagram.h"
#include "protocol/instruction.h"
#include "protocol/limits.h"
#include "server/control_client.h"
#include "server/daemon.h"

namespace roam::server {

namespace {

constexpr std::string_view usage = R"(usage: roam-server COMMAND [ARGS...]

The per-user roam daemon and the commands that talk to it. The daemon starts
on demand and exits when its last session ends.

commands:
  new NAME [--size COLSxROWS] [-- CMD ARGS...]   start a detached session
  attach NAME --size COLSxROWS [--port P|LOW:HIGH] [-- CMD ARGS...]
                                                make an attachment (creating the session
                                                if needed) and print ROAM CONNECT PORT ID KEY
  ls [--long]                                   list sessions (--long: history lines kept, dropped)
  kill NAME | --exited                          end a session (its programs get SIGHUP, then SIGKILL
                                                after 2 s); --exited: remove every ended session
  rename OLD NEW                                rename a session
  history NAME [--lines N] [--grep TEXT] [-i] [--ansi]
                                                print a session's scrollback and screen
  info                                          show the daemon's pid, version, directory
  daemon [--foreground] [--persist]             run the daemon (--persist: keep running
                                                with no sessions, e.g. under systemd)

  --version   print the version and exit
  --help      print this help (or COMMAND --help)

The runtime directory is $ROAM_RUNTIME_DIR, else $XDG_RUNTIME_DIR/roam, else /tmp/roam-$UID.
)";

// Messages carry the name the user typed: `roam ls` runs us as "roam".
std::string program = "roam-server";

int error(std::string_view message) {
  fmt::print(stderr, "{}: {}\n", program, message);
  return 1;
}

int usage_error(std::string_view message) {
  fmt::print(stderr, "{}: {}\n(see {} --help)\n", program, message, program);
  return 2;
}

bool parse_size(std::string_view s, uint32_t& cols, uint32_t& rows) {
  const auto x = s.find('x');
  if (x == std::string_view::npos) return false;
  auto c = std::from_chars(s.data(), s.data() + x, cols);
  auto r = std::from_chars(s.data() + x + 1, s.data() + s.size(), rows);
  return c.ec == std::errc{} && c.ptr == s.data() + x && r.ec == std::errc{} && r.ptr == s.data() + s.size() &&
         limits::session_size_ok(cols, rows);
}

// Why a request was not made: no daemon runs (for the caller to say what
// that means), or an error already printed, with the exit status it gives.
struct NotAsked {
  bool not_running = false;
  int status = 1;
};

// Sends one request; prints an error answer. Returns the client for more reading.
Result<ControlClient, NotAsked> ask(const Request& r, bool start) {
  auto client = ControlClient::connect(locate_runtime_dir(), start);
  if (!client) {
    if (client.error().not_running) return fail(NotAsked{.not_running = true});
    return fail(NotAsked{.status = error(client.error().message)});
  }
  if (auto sent = client->send(r); !sent) return fail(NotAsked{.status = error(sent.error())});
  return std::move(*client);
}

// For requests answered by ok or an error.
int simple(const Request& r, bool start, std::string_view not_running_message) {
  auto client = ask(r, start);
  if (!client) return client.error().not_running ? error(not_running_message) : client.error().status;
  auto resp = client->receive();
  if (!resp) return error(resp.error());
  if (resp->kind == Response::Kind::error) return error(resp->text);
  return 0;
}

std::string relative(int64_t then) {
  const int64_t d = std::max<int64_t>(0, std::time(nullptr) - then);
  if (d < 2) return "now";
  if (d < 120) return fmt::format("{}s ago", d);
  if (d < 7200) return fmt::format("{}m ago", d / 60);
  if (d < 172800) return fmt::format("{}h ago", d / 3600);
  return fmt::format("{}d ago", d / 86400);
}

int cmd_ls(const std::vector<std::string_view>& args) {
  const bool long_format = args.size() == 1 && (args[0] == "--long" || args[0] == "-l");
  if (!args.empty() && !long_format) return usage_error("usage: roam-server ls [--long]");
  auto client = ask(Request(Request::Kind::list), false);
  if (!client) {
    if (!client.error().not_running) return client.error().status;
    fmt::print(stderr, "no sessions\n");
    return 0;
  }
  auto resp = client->receive();
  if (!resp) return error(resp.error());
  if (resp->kind == Response::Kind::error) return error(resp->text);
  if (resp->sessions.empty()) {
    fmt::print(stderr, "no sessions\n");
    return 0;
  }
  // Left-aligned columns, the last (the command) as wide as it is.
  std::vector<std::vector<std::string>> rows{{"NAME", "SIZE", "CREATED", "ACTIVITY", "CLIENTS"}};
  if (long_format) rows[0].insert(rows[0].end(), {"HISTORY", "DROPPED"});
  rows[0].emplace_back("COMMAND");
  for (const auto& s : resp->sessions) {
    std::string command = s.command;
    if (s.exit_status) command += fmt::format(" [exited {}]", *s.exit_status);
    auto& row = rows.emplace_back(std::vector<std::string>{
        s.name, fmt::format("{}x{}", s.cols, s.rows),
        fmt::format("{:%Y-%m-%d %H:%M}", fmt::localtime(static_cast<std::time_t>(s.created))),
        relative(s.last_activity),
         s.stale_clients ? fmt::format("{} (+{} stale)", s.clients, s.stale_clients) : std::to_string(s.clients)});
    if (long_format) row.insert(row.end(), {std::to_string(s.history_lines), std::to_string(s.history_dropped)});
    row.push_back(std::move(command));
  }
  std::vector<size_t> width(rows[0].size());
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i + 1 < row.size(); ++i) line += fmt::format("{:<{}}  ", row[i], width[i]);
    fmt::print("{}{}\n", line, row.back());
  }
  return 0;
}

bool parse_ports(std::string_view s, uint16_t& low, uint16_t& high) {
  const auto colon = s.find(':');
  const auto a = s.substr(0, colon);
  const auto b = colon == std::string_view::npos ? a : s.substr(colon + 1);
  auto x = std::from_chars(a.data(), a.data() + a.size(), low);
  auto y = std::from_chars(b.data(), b.data() + b.size(), high);
  return x.ec == std::errc{} && x.ptr == a.data() + a.size() && y.ec == std::errc{} && y.ptr == b.data() + b.size() &&
         low > 0 && low <= high;
}

// The arguments new and attach share: NAME, --size COLSxROWS, -- CMD ARGS...
// (and --port for attach). Returns an exit status on a usage error.
std::optional<int> parse_session_args(std::string_view command, const std::vector<std::string_view>& args,
                                      Request& r, bool& sized) {
  bool named = false;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const auto a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    // --opt VALUE or --opt=VALUE
    const auto eq = a.starts_with("--") ? a.find('=') : std::string_view::npos;
    const auto option = a.substr(0, eq);
    if (option == "--size" || (option == "--port" && r.kind == Request::Kind::attach)) {
      std::string_view value;
      if (eq != std::string_view::npos) value = a.substr(eq + 1);
      else if (i + 1 < args.size()) value = args[++i];
      else return usage_error(fmt::format("{} needs a value", option));
      if (option == "--size" && !(sized = parse_size(value, r.cols, r.rows)))
        return usage_error(fmt::format("bad size '{}': use COLSxROWS", value));
      if (option == "--port" && !parse_ports(value, r.port_low, r.port_high))
        return usage_error(fmt::format("bad port '{}': use PORT or LOW:HIGH", value));
    } else if (a.starts_with("-")) {
      return usage_error(fmt::format("unknown option '{}'", a));
    } else if (!named) {
      r.name = a;
      named = true;
    } else {
      return usage_error(fmt::format("put the command after '--': {} {} NAME -- CMD ARGS...", program, command));
    }
  }
  for (; i < args.size(); ++i) r.argv.emplace_back(args[i]);
  if (!named) return usage_error(fmt::format("{} needs a session name", command));
  if (!mux::valid_session_name(r.name)) return error(mux::invalid_name_message(r.name));
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd)) r.cwd = cwd;
  return std::nullopt;
}

int cmd_new(const std::vector<std::string_view>& args) {
  Request r(Request::Kind::new_session);
  bool sized = false;
  if (auto status = parse_session_args("new", args, r, sized)) return *status;
  return simple(r, true, "");
}

// For bootstraps (roam attach, and ssh for remote hosts): the key goes to
// our stdout, read by the client through a pipe, never through argv.
int cmd_attach(const std::vector<std::string_view>& args) {
  Request r(Request::Kind::attach);
  bool sized = false;
  if (auto status = parse_session_args("attach", args, r, sized)) return *status;
  if (!sized) return usage_error("attach needs --size COLSxROWS");
  auto client = ask(r, true);
  if (!client) return client.error().status;
  auto resp = client->receive();
  if (!resp) return error(resp.error());
  if (resp->kind == Response::Kind::error) return error(resp->text);
  if (resp->kind != Response::Kind::connect) return error("unexpected answer from the daemon");
  // Over ssh, SSH_CONNECTION's third field is the address the client
  // reached us at: the best UDP target it can have.
  std::string addr;
  if (const char* ssh = std::getenv("SSH_CONNECTION")) {
    std::istringstream fields(ssh);
    std::string client_ip, client_port;
    fields >> client_ip >> client_port >> addr;
  }
  // pid=: a client on this host can tell when the daemon is gone.
  fmt::print("ROAM CONNECT {} {} {} proto={} pid={}{}\n", resp->connect.port, format_conn_id(resp->connect.conn_id),
             resp->connect.key, protocol_version, resp->connect.daemon_pid, addr.empty() ? "" : " addr=" + addr);
  return fflush(stdout) == 0 ? 0 : 1;
}

// Removes every ended session and says which.
int cmd_kill_ended() {
  auto client = ask(Request(Request::Kind::kill_ended), false);
  if (!client) {
    if (!client.error().not_running) return client.error().status;
    fmt::print("no ended sessions\n");
    return 0;
  }
  auto resp = client->receive();
  if (!resp) return error(resp.error());
  if (resp->kind == Response::Kind::error) return error(resp->text);
  if (resp->kind != Response::Kind::sessions) return error("unexpected answer from the daemon");
  if (resp->sessions.empty()) {
    fmt::print("no ended sessions\n");
    return 0;
  }
  std::string names;
  for (const auto& s : resp->sessions) names += (names.empty() ? "" : ", ") + s.name;
  fmt::print("removed {} ended session{}: {}\n", resp->sessions.size(), resp->sessions.size() == 1 ? "" : "s", names);
  return 0;
}

int cmd_kill(const std::vector<std::string_view>& args) {
  if (args.size() == 1 && args[0] == "--exited") return cmd_kill_ended();
  if (args.size() != 1 || args[0].starts_with("-")) return usage_error("usage: roam-server kill NAME | --exited");
  Request r(Request::Kind::kill);
  r.name = args[0];
  return simple(r, false, fmt::format("no session named '{}'", r.name));
}

int cmd_rename(const std::vector<std::string_view>& args) {
  if (args.size() != 2) return usage_error("usage: roam-server rename OLD NEW");
  if (!mux::valid_session_name(args[1])) return error(mux::invalid_name_message(args[1]));
  Request r(Request::Kind::rename);
  r.name = args[0];
  r.new_name = args[1];
  return simple(r, false, fmt::format("no session named '{}'", r.name));
}

int cmd_history(const std::vector<std::string_view>& args) {
  Request r(Request::Kind::history);
  for (size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    if (a == "--ansi") {
      r.ansi = true;
    } else if (a == "-i" || a == "--ignore-case") {
      r.ignore_case = true;
    } else if (a == "--lines" && i + 1 < args.size()) {
      const auto v = args[++i];
      auto res = std::from_chars(v.data(), v.data() + v.size(), r.lines);
      if (res.ec != std::errc{} || res.ptr != v.data() + v.size() || r.lines == 0)
        return usage_error(fmt::format("bad line count '{}'", v));
    } else if (a == "--grep" && i + 1 < args.size()) {
      r.grep = args[++i];
      if (r.grep.empty()) return usage_error("--grep needs some text");
    } else if (a.starts_with("-")) {
      return usage_error(fmt::format("unknown option '{}'", a));
    } else if (r.name.empty()) {
      r.name = a;
    } else {
      return usage_error("history takes one session name");
    }
  }
  if (r.name.empty()) return usage_error("history needs a session name");
  auto client = ask(r, false);
  if (!client)
    return client.error().not_running ? error(fmt::format("no session named '{}'", r.name)) : client.error().status;
  while (true) {
    auto resp = client->receive();
    if (!resp) return error(resp.error());
    switch (resp->kind) {
      case Response::Kind::data:
        if (fwrite(resp->text.data(), 1, resp->text.size(), stdout) != resp->text.size()) return 1;  // e.g. a closed pipe
        break;
      case Response::Kind::end: return fflush(stdout) == 0 ? 0 : 1;
      case Response::Kind::error: return error(resp->text);
      default: return error("unexpected answer from the daemon");
    }
  }
}

int cmd_info(const std::vector<std::string_view>& args) {
  if (!args.empty()) return usage_error("info takes no arguments");
  const RuntimeDir dir = locate_runtime_dir();
  auto client = ask(Request(Request::Kind::info), false);
  if (!client) {
    if (!client.error().not_running) return client.error().status;
    fmt::print("running: no\nversion: {}\nruntime_dir: {}\n", ROAM_VERSION, dir.path);
    return 1;
  }
  auto resp = client->receive();
  if (!resp) return error(resp.error());
  if (resp->kind != Response::Kind::info) return error(resp->kind == Response::Kind::error ? resp->text : "unexpected answer");
  const auto& i = resp->info;
  fmt::print("running: yes\npid: {}\nversion: {}\nruntime_dir: {}\nudp_port: {}\nsessions: {}\n", i.pid, i.version,
             i.runtime_dir, i.udp_port ? std::to_string(i.udp_port) : "none", i.sessions);
  for (const auto& [name, value] : i.counters) fmt::print("{}: {}\n", name, value);
  return 0;
}

int cmd_daemon(const std::vector<std::string_view>& args) {
  bool foreground = false, persist = false;
  for (const auto a : args) {
    if (a == "--foreground") foreground = true;
    else if (a == "--persist") persist = true;
    else return usage_error(fmt::format("unknown option '{}'", a));
  }
  const RuntimeDir dir = locate_runtime_dir();
  auto claim = claim_runtime_dir(dir);
  if (!claim) return error(claim.error().message);
  return run_daemon(dir, std::move(*claim), foreground, persist);
}

}  // namespace

int run_command(int argc, char** argv) {
  if (argc > 0) {
    const std::string_view name = argv[0];
    program = std::string(name.substr(name.rfind('/') + 1));
  }
  if (argc < 2) {
    fmt::print(stderr, "{}", usage);
    return 2;
  }
  const std::string_view cmd = argv[1];
  std::vector<std::string_view> args(argv + 2, argv + argc);
  if (cmd == "--version" || cmd == "version") {
    fmt::print("roam-server {}\n", ROAM_VERSION);
    return 0;
  }
  if (cmd == "--help" || cmd == "help" || (!args.empty() && args[0] == "--help")) {
    fmt::print("{}", usage);
    return 0;
  }
  if (cmd == "new") return cmd_new(args);
  if (cmd == "attach") return cmd_attach(args);
  if (cmd == "ls" || cmd == "list") return cmd_ls(args);
  if (cmd == "kill") return cmd_kill(args);
  if (cmd == "rename") return cmd_rename(args);
  if (cmd == "history") return cmd_history(args);
  if (cmd == "info") return cmd_info(args);
  if (cmd == "daemon") return cmd_daemon(args);
  return usage_error(fmt::format("unknown command '{}'", cmd));
}

}  // namespace roam::server
