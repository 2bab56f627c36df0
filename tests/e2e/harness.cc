#include "tests/e2e/harness.h"

#include "tests/e2e/terminal_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace roam::e2e {

namespace {

std::string required_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(std::string(name) + " is not set: run the tests with meson test");
  return v;
}

}  // namespace

std::string roam_bin() { return required_env("ROAM_BIN"); }
std::string roam_server_bin() { return required_env("ROAM_SERVER_BIN"); }

Run run(const std::vector<std::string>& argv, const RunOptions& options) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry = *e;
    const auto name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : options.env) replaced = replaced || k == name;
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [k, v] : options.env) env.push_back(k + "=" + v);
  std::vector<char*> argv_p, env_p;
  for (const auto& a : argv) argv_p.push_back(const_cast<char*>(a.c_str()));
  argv_p.push_back(nullptr);
  for (const auto& e : env) env_p.push_back(const_cast<char*>(e.c_str()));
  env_p.push_back(nullptr);

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
    execve(argv_p[0], argv_p.data(), env_p.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  Run result;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out) result.status = -1;
  else if (WIFEXITED(status)) result.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.status = 128 + WTERMSIG(status);
  return result;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Sandbox::Sandbox() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "roam-e2e-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
  dir_ = tmpl;
  runtime_ = dir_ + "/run";
}

Sandbox::~Sandbox() {
  // Stop our daemon (and with it our sessions); nobody else's.
  if (auto pid = daemon_pid()) {
    kill(*pid, SIGTERM);
    wait_until([&] { return kill(*pid, 0) != 0; }, std::chrono::seconds(10));
    kill(*pid, SIGKILL);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Run Sandbox::with_runtime(std::vector<std::string> argv, RunOptions options) {
  options.env.emplace_back("ROAM_RUNTIME_DIR", runtime_);
  return run(argv, options);
}

Run Sandbox::roam(std::vector<std::string> args, RunOptions options) {
  args.insert(args.begin(), roam_bin());
  return with_runtime(std::move(args), std::move(options));
}

Run Sandbox::server(std::vector<std::string> args, RunOptions options) {
  args.insert(args.begin(), roam_server_bin());
  return with_runtime(std::move(args), std::move(options));
}

std::optional<ConnectLine> parse_connect_line(const std::string& out) {
  std::istringstream line(out);
  std::string roam_word, connect_word, port;
  ConnectLine c;
  line >> roam_word >> connect_word >> port >> c.id >> c.key;
  if (roam_word != "ROAM" || connect_word != "CONNECT" || c.key.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), c.port);
  if (ec != std::errc() || end != port.data() + port.size()) return std::nullopt;
  return c;
}

std::unique_ptr<TerminalDriver> connect_client(const ConnectLine& c, int port, std::vector<std::string> options) {
  std::vector<std::string> argv{roam_bin()};
  argv.insert(argv.end(), options.begin(), options.end());
  for (std::string a : {"connect", "127.0.0.1"}) argv.push_back(a);
  argv.push_back(std::to_string(port));
  return std::make_unique<TerminalDriver>(
      argv, 80, 24, std::vector<std::pair<std::string, std::string>>{{"ROAM_CONN_ID", c.id}, {"ROAM_KEY", c.key}});
}

std::unique_ptr<TerminalDriver> attach_client(const Sandbox& sb, const std::string& name, int cols, int rows,
                                              std::vector<std::string> command, std::vector<std::string> options) {
  std::vector<std::string> argv{roam_bin()};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.insert(argv.end(), {"attach", name});
  if (!command.empty()) {
    argv.emplace_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
  }
  return std::make_unique<TerminalDriver>(argv, cols, rows,
                                          std::vector<std::pair<std::string, std::string>>{
                                              {"ROAM_RUNTIME_DIR", sb.runtime()}, {"PS1", "rdy>"}, {"ENV", ""}});
}

std::optional<std::string> ls_column(Sandbox& sb, const std::string& name, const std::string& column) {
  std::istringstream in(sb.roam({"ls"}).out);
  std::string header;
  if (!std::getline(in, header)) return std::nullopt;
  // Columns are aligned under their headings; each ends where the next begins.
  const auto at = header.find(column);
  if (at == std::string::npos) return std::nullopt;
  const auto next = header.find_first_not_of(' ', header.find(' ', at));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) != 0) continue;
    std::string cell = line.substr(at, next == std::string::npos ? std::string::npos : next - at);
    while (!cell.empty() && cell.back() == ' ') cell.pop_back();
    return cell;
  }
  return std::nullopt;
}

std::optional<ConnectLine> Sandbox::attach_line(const std::string& name, std::vector<std::string> command,
                                                std::vector<std::pair<std::string, std::string>> env) {
  std::vector<std::string> args{"attach", name, "--size", "80x24"};
  if (!command.empty()) {
    args.emplace_back("--");
    args.insert(args.end(), command.begin(), command.end());
  }
  RunOptions options;
  options.env = {{"PS1", "rdy>"}, {"ENV", ""}};
  for (auto& [k, v] : env) {
    auto it = std::find_if(options.env.begin(), options.env.end(), [&](const auto& e) { return e.first == k; });
    if (it != options.env.end()) it->second = v;
    else options.env.emplace_back(k, v);
  }
  const Run r = server(args, options);
  if (r.status != 0) return std::nullopt;
  return parse_connect_line(r.out);
}

std::optional<pid_t> Sandbox::daemon_pid() {
  const Run r = server({"info"}, {{}, {}, std::chrono::seconds(20)});
  const auto at = r.out.find("pid: ");
  if (r.status != 0 || at == std::string::npos) return std::nullopt;
  return static_cast<pid_t>(std::atoi(r.out.c_str() + at + 5));
}

}  // namespace roam::e2e

namespace roam::e2e {

std::map<std::string, long long> Sandbox::info_numbers() {
  std::map<std::string, long long> out;
  std::istringstream in(server({"info"}).out);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(": ");
    if (colon == std::string::npos) continue;
    const std::string value = line.substr(colon + 2);
    long long n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc{} && end == value.data() + value.size()) out[line.substr(0, colon)] = n;
  }
  return out;
}

long long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return -1;
}

char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? 0 : stat[close + 2];
}

std::vector<pid_t> child_pids(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  for (pid_t child; in >> child;) out.push_back(child);
  return out;
}

}  // namespace roam::e2e
