#include "client/remote.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>


namespace roam::client {

namespace {

// ssh's own exit status when it, not the remote command, failed.
constexpr int ssh_failed = 255;
// A shell's status for "command not found".
constexpr int not_found = 127;

std::vector<std::string> ssh_argv(const RemoteOptions& o, const std::string& host,
                                  const std::vector<std::string>& server_args, bool no_stdin) {
  std::vector<std::string> argv = o.ssh;
  if (no_stdin) argv.emplace_back("-n");  // prompts still reach the user: ssh asks on /dev/tty
  if (o.family == AF_INET) argv.emplace_back("-4");
  if (o.family == AF_INET6) argv.emplace_back("-6");
  argv.push_back(host);
  argv.emplace_back("--");
  // ssh joins its arguments into one line for the remote shell: quote them.
  std::string remote = shell_quote(o.server);
  for (const auto& a : server_args) remote += " " + shell_quote(a);
  argv.push_back(remote);
  return argv;
}

struct Finished {
  int status;
  std::string out;
};

// Runs argv; stdout is captured (up to a bound) when `capture`, else shared.
Result<Finished, std::string> spawn(const std::vector<std::string>& args, bool capture) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int out[2] = {-1, -1};
  if (capture && pipe2(out, O_CLOEXEC) != 0) return fail(fmt::format("pipe: {}", std::strerror(errno)));
  const pid_t pid = fork();
  if (pid < 0) return fail(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    if (capture) dup2(out[1], STDOUT_FILENO);
    execvp(argv[0], argv.data());
    fmt::print(stderr, "roam: cannot run {}: {}\n", args[0], std::strerror(errno));
    _exit(not_found);
  }
  Finished f{0, {}};
  if (capture) {
    close(out[1]);
    char buf[512];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      if (f.out.size() < 4096) f.out.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  f.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return f;
}

// The message for a failed ssh run, or "" when the remote command said why.
std::string explain(int status, const std::string& host, const RemoteOptions& o) {
  if (status == ssh_failed) return fmt::format("ssh to {} failed", host);
  if (status == not_found || status == 126) {
    const std::string_view server = o.server;
    return fmt::format("{} not found on {} (install it, or pass --server=PATH)",
                       server.substr(server.rfind('/') + 1), host);
  }
  return {};
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
  auto ran = spawn(ssh_argv(options, where.host, args, true), true);
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
  auto ran = spawn(ssh_argv(options, host, server_args, false), false);
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
