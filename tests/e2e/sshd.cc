#include "tests/e2e/sshd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "tests/e2e/harness.h"

namespace roam::e2e {

namespace {

using namespace std::chrono_literals;

// `name` in the usual places, then along $PATH; empty if nowhere.
std::string find_program(const std::string& name, std::vector<std::string> dirs) {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream s(path);
    for (std::string d; std::getline(s, d, ':');)
      if (!d.empty()) dirs.push_back(d);
  }
  for (const auto& d : dirs) {
    const std::string p = d + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

std::string ssh_bin() { return find_program("ssh", {"/usr/bin", "/bin"}); }
std::string ssh_keygen_bin() { return find_program("ssh-keygen", {"/usr/bin", "/bin"}); }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int unused_port(int type) {
  const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error("bind");
  }
  close(fd);
  return ntohs(a.sin_port);
}

// Whether an SSH server answers on 127.0.0.1:port with its banner.
bool ssh_banner(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a = loopback(port);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    pollfd p{fd, POLLIN, 0};
    char buf[4] = {};
    ok = poll(&p, 1, 5000) == 1 && recv(fd, buf, sizeof buf, MSG_WAITALL) == 4 && std::memcmp(buf, "SSH-", 4) == 0;
  }
  close(fd);
  return ok;
}

bool keygen(const std::string& path, std::string& why) {
  const std::string bin = ssh_keygen_bin();
  if (bin.empty()) {
    why = "no ssh-keygen";
    return false;
  }
  const Run r = run({bin, "-t", "ed25519", "-N", "", "-C", "roam-e2e", "-f", path, "-q"}, {{}, {}, 30s});
  if (r.status != 0) {
    why = "ssh-keygen failed: " + r.err;
    return false;
  }
  return true;
}

}  // namespace

int unused_tcp_port() { return unused_port(SOCK_STREAM); }
int closed_udp_port() { return unused_port(SOCK_DGRAM); }

bool Sshd::required() { return geteuid() == 0; }

Sshd::Sshd(const std::string& runtime_dir, const std::vector<std::pair<std::string, std::string>>& env) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "roam-sshd-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
  dir_ = tmpl;
  key_ = dir_ + "/id";
  std::string why;
  if (!start(runtime_dir, env, why)) {
    // One line: the reason, its lines joined.
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    for (auto& c : why)
      if (c == '\n' || c == '\r') c = ' ';
    error_ = why.empty() ? "unknown failure" : why;
  }
}

bool Sshd::start(const std::string& runtime_dir, const std::vector<std::pair<std::string, std::string>>& env,
                 std::string& why) {
  const std::string sshd = "/usr/sbin/sshd";  // absolute: sshd re-executes itself
  if (access(sshd.c_str(), X_OK) != 0) {
    why = "no " + sshd;
    return false;
  }
  if (ssh_bin().empty()) {
    why = "no ssh client";
    return false;
  }
  if (!keygen(dir_ + "/host_key", why) || !keygen(key_, why)) return false;
  std::filesystem::copy_file(key_ + ".pub", dir_ + "/authorized_keys");
  // sshd insists on its privilege-separation directory when run as root.
  if (geteuid() == 0) {
    std::error_code ec;
    std::filesystem::create_directories("/run/sshd", ec);
    chmod("/run/sshd", 0755);
  }
  // The login shell (bash, for root) drops PS1 when it runs a command, so the
  // prompt comes from $ENV, which an interactive sh reads. SHLVL=1 keeps bash
  // from reading the user's ~/.bashrc, as it otherwise does under sshd.
  {
    std::ofstream rc(dir_ + "/shrc");
    rc << "PS1='rdy>'\n";
  }

  for (int attempt = 0; attempt < 8; ++attempt) {
    const int port = unused_tcp_port();
    const std::string config = dir_ + "/sshd_config";
    {
      std::ofstream c(config);
      c << "Port " << port << "\n"
        << "ListenAddress 127.0.0.1\n"
        << "HostKey " << dir_ << "/host_key\n"
        << "AuthorizedKeysFile " << dir_ << "/authorized_keys\n"
        << "PidFile " << dir_ << "/sshd.pid\n"
        << "UsePAM no\n"
        << "StrictModes no\n"
        << "PermitRootLogin yes\n"
        << "PubkeyAuthentication yes\n"
        << "PasswordAuthentication no\n"
        << "KbdInteractiveAuthentication no\n"
        << "SetEnv \"ROAM_RUNTIME_DIR=" << runtime_dir << "\" PS1=rdy> \"ENV=" << dir_ << "/shrc\" SHLVL=1";
      for (const auto& [k, v] : env) c << " \"" << k << "=" << v << "\"";
      c << "\n"
        << "LogLevel ERROR\n";
      if (!c) {
        why = "cannot write " + config;
        return false;
      }
    }
    const std::string log_path = dir_ + "/sshd.log";
    std::vector<std::string> argv = {sshd, "-D", "-e", "-f", config};
    std::vector<char*> p;
    for (auto& a : argv) p.push_back(a.data());
    p.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
      setsid();  // its own process group: whatever it signals, never us
      const int null = open("/dev/null", O_RDONLY);
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (null >= 0) dup2(null, 0);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      execv(p[0], p.data());
      _exit(127);
    }
    int status = 0;
    bool exited = false;
    const bool up = wait_until(
        [&] {
          if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            return true;
          }
          return ssh_banner(port);
        },
        60s);
    if (up && !exited) {
      pid_ = pid;
      port_ = port;
      // Whether this user can log in here at all (not so, say, for a
      // non-root user without a login shell).
      std::vector<std::string> probe;
      std::istringstream words(ssh_command());
      for (std::string w; words >> w;) probe.push_back(w);
      probe.insert(probe.end(), {"127.0.0.1", "--", "true"});
      const Run r = run(probe, {{}, {}, 120s});
      if (r.status == 0) return true;
      why = "ssh login failed: " + r.err + log();
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      port_ = 0;
      return false;
    }
    if (!exited) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      why = "sshd did not answer on port " + std::to_string(port) + ": " + log();
      return false;
    }
    const std::string out = log();
    if (out.find("Address already in use") == std::string::npos) {
      why = "sshd exited: " + out;
      return false;
    }
    why = "no free port";  // someone took it meanwhile: try another
  }
  return false;
}

Sshd::~Sshd() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    if (!wait_until([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, 10s)) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string Sshd::ssh_command(int port, const std::string& key) const {
  return ssh_bin() + " -F /dev/null -p " + std::to_string(port) + " -i " + key +
         " -o IdentitiesOnly=yes -o IdentityAgent=none -o StrictHostKeyChecking=no"
         " -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes"
         " -o ConnectTimeout=30 -o LogLevel=ERROR";
}

std::string Sshd::unauthorized_key() {
  for (int i = 0;; ++i) {
    const std::string path = dir_ + "/other" + std::to_string(i);
    if (std::filesystem::exists(path)) continue;
    std::string why;
    if (!keygen(path, why)) throw std::runtime_error(why);
    return path;
  }
}

std::string Sshd::log() const { return slurp(dir_ + "/sshd.log"); }

}  // namespace roam::e2e
