#include "client/remote.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "client/spawn.h"
#include "protocol/unique_fd.h"

namespace roam::client {

namespace {

// ssh's own exit status when it, not the remote command, failed.
constexpr int ssh_failed = 255;
// A shell's status for "command not found".
constexpr int not_found = 127;

std::vector<std::string> ssh_argv(const RemoteOptions& o, const std::string& host, std::string remote_command,
                                  bool no_stdin) {
  std::vector<std::string> argv = o.ssh;
  if (no_stdin) argv.emplace_back("-n");  // prompts still reach the user: ssh asks on /dev/tty
  if (o.family == AF_INET) argv.emplace_back("-4");
  if (o.family == AF_INET6) argv.emplace_back("-6");
  argv.push_back(host);
  argv.emplace_back("--");
  argv.push_back(std::move(remote_command));
  return argv;
}

// ssh joins its arguments into one line for the remote shell: quote them.
std::string plain_command(const RemoteOptions& o, const std::vector<std::string>& server_args) {
  std::string remote = shell_quote(o.server);
  for (const auto& a : server_args) remote += " " + shell_quote(a);
  return remote;
}

// Asks on the terminal whether to copy our roam-server; no terminal, no.
bool user_agrees(const CarriedServer& s, const std::string& host) {
  if (!isatty(STDIN_FILENO)) return false;
  fmt::print(stderr,
             "roam: roam-server is not installed on {}. Copy roam's own ({}, {:.1f} MB) to ~/.cache/roam/bin "
             "there and run it? [y/N] ",
             host, s.system, static_cast<double>(s.size) / 1e6);
  std::fflush(stderr);
  std::string answer;
  char c;
  while (answer.size() < 16) {
    const ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n' || c == '\r') break;
    answer += c;
  }
  return answer == "y" || answer == "Y" || answer == "yes";
}

// The message for a failed ssh run, or "" when the remote command said why.
std::string explain(int status, const std::string& host, const RemoteOptions& o) {
  if (status == ssh_failed) return fmt::format("ssh to {} failed", host);
  if (status == not_found || status == 126) {
    const std::string_view server = o.server;
    return fmt::format("{} not found on {} (install it, {})", server.substr(server.rfind('/') + 1), host,
                       o.server_given ? "or pass --server=PATH"
                                      : "pass --server=PATH, or --install-server=yes to copy roam's own");
  }
  return {};
}

// Runs roam-server ARGS... on `host` over ssh: the one on its PATH, else
// the copy of ours cached there, else (as the user allows) ours, copied.
Result<Spawned, std::string> run_server(const RemoteOptions& o, const std::string& host,
                                        const std::vector<std::string>& server_args, bool capture) {
  const std::string shown = Destination{host, {}}.shown_host();
  const auto carried = o.server_given || o.install_server == InstallServer::no ? std::nullopt : find_carried_server();
  SpawnSpec spec;
  spec.capture_out = capture;
  if (!carried) {
    spec.argv = ssh_argv(o, host, plain_command(o, server_args), capture);
    return spawn_and_wait(spec);
  }
  spec.marker = carry::marker;
  spec.argv = ssh_argv(o, host, carry::run_command(*carried, server_args), capture);
  auto ran = spawn_and_wait(spec);
  if (!ran || ran->status != carry::status || ran->marked.empty()) return ran;
  const carry::Report first = carry::explain(ran->marked, *carried, shown);
  if (!first.message.empty()) return fail(first.message);
  if (o.install_server == InstallServer::ask && !user_agrees(*carried, shown))
    return fail(explain(not_found, shown, o));
  UniqueFd binary(open(carried->path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!binary) return fail(fmt::format("cannot read {}: {}", carried->path, std::strerror(errno)));
  spec.stdin_fd = binary.get();
  spec.argv = ssh_argv(o, host, carry::install_command(*carried, server_args), false);
  ran = spawn_and_wait(spec);
  if (!ran || ran->status != carry::status) return ran;
  const carry::Report second = carry::explain(ran->marked, *carried, shown);
  return fail(second.message.empty() ? fmt::format("copying roam-server to {} failed", shown) : second.message);
}

}  // namespace

std::string Destination::shown_host() const {
  std::string_view h = host;
  if (const auto at = h.rfind('@'); at != std::string_view::npos) h.remove_prefix(at + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return std::string(h);
}

Destination parse_destination(std::string_view arg) {
  // "[v6]:NAME": the colon after the bracket separates; otherwise the first.
  size_t colon = std::string_view::npos;
  if (const auto close = arg.find("]:"); arg.find('[') != std::string_view::npos && close != std::string_view::npos)
    colon = close + 1;
  else
    colon = arg.find(':');
  if (colon == std::string_view::npos) return {{}, std::string(arg)};
  return {std::string(arg.substr(0, colon)), std::string(arg.substr(colon + 1))};
}

std::vector<std::string> split_command(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : text) {
    if (quote) {
      if (c == quote) quote = 0;
      else word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::string shell_quote(std::string_view word) {
  const bool safe = !word.empty() && word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                           "0123456789@%+=:,./_-") == std::string_view::npos;
  if (safe) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

Result<ConnectTarget, std::string> bootstrap_ssh(const RemoteOptions& options, const Destination& where, int cols,
                                                 int rows, const std::vector<std::string>& command) {
  const std::string host = where.shown_host();
  std::vector<std::string> args{"attach", where.name, "--size", fmt::format("{}x{}", cols, rows)};
  if (!options.ports.empty()) args.insert(args.end(), {"--port", options.ports});
  if (!command.empty()) {
    args.emplace_back("--");
    args.insert(args.end(), command.begin(), command.end());
  }
  auto ran = run_server(options, where.host, args, true);
  if (!ran) return fail(ran.error());
  if (ran->status != 0) return fail(explain(ran->status, host, options));
  // The CONNECT line is the last line; a login banner may come before it.
  std::string_view out = ran->out;
  const auto at = out.rfind("ROAM CONNECT ");
  if (at == std::string_view::npos) return fail(fmt::format("{} did not answer with a ROAM CONNECT line", host));
  auto target = parse_connect_line(out.substr(at, out.find('\n', at) - at));
  if (!target) return fail(fmt::format("malformed ROAM CONNECT line from {}", host));
  if (auto ok = check_protocol(*target, "on " + host); !ok) return fail(ok.error());
  target->host = target->addr.empty() ? host : target->addr;
  target->label = host;
  target->reattach = "roam attach " + where.host + ":" + where.name;
  return target;
}

int run_remote(const RemoteOptions& options, const std::string& host, const std::vector<std::string>& server_args) {
  auto ran = run_server(options, host, server_args, false);
  if (!ran) {
    fmt::print(stderr, "roam: {}\n", ran.error());
    return 1;
  }
  const std::string why = explain(ran->status, Destination{host, {}}.shown_host(), options);
  if (!why.empty()) {
    fmt::print(stderr, "roam: {}\n", why);
    return 1;
  }
  return ran->status;
}

}  // namespace roam::client
