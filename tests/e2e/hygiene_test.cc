// Process hygiene, end to end: where the attachment key may and may not be
// found, core dumps, and which file descriptors the session's shell and the
// daemon hold.
#include <doctest/doctest.h>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/e2e/harness.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string proc(pid_t pid, const std::string& what) { return slurp("/proc/" + std::to_string(pid) + "/" + what); }

std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d))
    if (const pid_t p = static_cast<pid_t>(std::atoi(e->d_name)); p > 0) out.push_back(p);
  closedir(d);
  return out;
}


// fd number -> what it points at.
std::vector<std::pair<int, std::string>> fds(pid_t pid) {
  std::vector<std::pair<int, std::string>> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[512];
    const ssize_t n = readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    out.emplace_back(std::atoi(e->d_name), n > 0 ? std::string(target, static_cast<size_t>(n)) : "?");
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string describe(const std::vector<std::pair<int, std::string>>& list) {
  std::string s;
  for (const auto& [fd, target] : list) s += std::to_string(fd) + "->" + target + " ";
  return s;
}

// The "Max core file size" line of /proc/PID/limits: soft and hard.
std::string core_limit(pid_t pid) {
  std::istringstream in(proc(pid, "limits"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Max core file size", 0) == 0) {
      std::istringstream f(line.substr(18));
      std::string soft, hard;
      f >> soft >> hard;
      return soft + " " + hard;
    }
  return "?";
}

struct Attached {
  Sandbox sb;
  int port = 0;
  std::string id, key;
  std::unique_ptr<TerminalDriver> client;
  pid_t daemon = -1, shell = -1;

  Attached() {
    const auto c = sb.attach_line("clean", {"/bin/sh"});
    REQUIRE(c.has_value());
    REQUIRE(c->key.size() >= 16);
    id = c->id;
    key = c->key;
    port = c->port;
    client = connect_client(*c, port);
    REQUIRE(client->wait_for_text("rdy>"));
    const auto d = sb.daemon_pid();
    REQUIRE(d);
    daemon = *d;
    const auto kids = child_pids(daemon);
    REQUIRE(kids.size() == 1);
    shell = kids.front();
  }
};

}  // namespace

TEST_CASE("the key is in no process's argv or environment, nor in the daemon's log") {
  Attached a;
  a.client->type("echo clean-one\r");
  REQUIRE(a.client->wait_for_text("\nclean-one\n"));

  // Our three processes by name, then every process we can read.
  for (const auto& [what, pid] : {std::pair<const char*, pid_t>{"daemon", a.daemon}, {"client", a.client->pid()},
                                  {"session shell", a.shell}}) {
    const std::string who = std::string(what) + " pid " + std::to_string(pid);
    INFO(who);
    const std::string cmdline = proc(pid, "cmdline"), environ = proc(pid, "environ");
    CHECK(!cmdline.empty());
    CHECK(!contains(cmdline, a.key));
    CHECK(!contains(environ, a.key));
    CHECK(!contains(environ, "ROAM_KEY="));
  }
  int scanned = 0;
  std::vector<pid_t> holders;
  for (pid_t p : all_pids()) {
    if (p == getpid()) continue;  // the test itself knows the key
    const std::string cmdline = proc(p, "cmdline"), environ = proc(p, "environ");
    if (cmdline.empty() && environ.empty()) continue;
    ++scanned;
    if (contains(cmdline, a.key) || contains(environ, a.key)) holders.push_back(p);
  }
  MESSAGE("scanned the argv and environment of ", scanned, " readable processes; the key found in ",
          holders.size());
  for (pid_t p : holders) MESSAGE("key found in pid ", p, ": ", proc(p, "cmdline"));
  CHECK(holders.empty());

  // roam connect took the id and key from its environment: they are gone from it.
  const std::string client_env = proc(a.client->pid(), "environ");
  CHECK_MESSAGE(!contains(client_env, "ROAM_KEY"), "the client's /proc/PID/environ still holds ROAM_KEY");
  CHECK_MESSAGE(!contains(client_env, "ROAM_CONN_ID"), "the client's /proc/PID/environ still holds ROAM_CONN_ID");

  // Detach, so the log has the whole life of an attachment; then read it.
  a.client->type("\x1e" "d");
  CHECK(a.client->wait_exit().has_value());
  const std::string log = slurp(a.sb.runtime() + "/server.log");
  MESSAGE("server.log: ", log.size(), " bytes");
  CHECK(!log.empty());
  CHECK(!contains(log, a.key));
  CHECK(contains(log, a.id));  // the connection id is no secret: the log names attachments by it
}

TEST_CASE("core dumps are off in the daemon and the client") {
  Attached a;
  MESSAGE("core file size limits: daemon ", core_limit(a.daemon), ", client ", core_limit(a.client->pid()),
          ", session shell ", core_limit(a.shell));
  CHECK(core_limit(a.daemon) == "0 0");
  CHECK(core_limit(a.client->pid()) == "0 0");
}

TEST_CASE("the session's shell holds only its terminal; the daemon holds nothing of ours") {
  // A descriptor the test leaves open across exec, as a careless parent would:
  // the daemon and the session's shell must not keep it.
  int leak[2];
  REQUIRE(pipe(leak) == 0);
  std::string leak_target;
  for (const auto& [fd, target] : fds(getpid()))
    if (fd == leak[0]) leak_target = target;
  Attached a;
  close(leak[0]);
  close(leak[1]);

  const auto shell_fds = fds(a.shell);
  const auto daemon_fds = fds(a.daemon);
  const auto client_fds = fds(a.client->pid());
  MESSAGE("session shell fds: ", describe(shell_fds));
  MESSAGE("daemon fds: ", describe(daemon_fds));
  MESSAGE("client fds: ", describe(client_fds));

  // The shell: 0, 1, 2 on its terminal; a shell may open its terminal again
  // for job control (dash keeps /dev/tty at fd 10), nothing else.
  REQUIRE(shell_fds.size() >= 3);
  const std::string tty = shell_fds[0].second;
  CHECK(tty.rfind("/dev/pts/", 0) == 0);
  std::set<int> numbers;
  for (const auto& [fd, target] : shell_fds) {
    INFO("shell fd ", fd, " -> ", target);
    CHECK((target == tty || (fd > 2 && target == "/dev/tty")));
    numbers.insert(fd);
  }
  CHECK(numbers.count(0) == 1);
  CHECK(numbers.count(1) == 1);
  CHECK(numbers.count(2) == 1);

  // No pipe or socket of the test's survives into the daemon or the shell.
  for (const auto& [fd, target] : daemon_fds) {
    INFO("daemon fd ", fd, " -> ", target);
    CHECK(target != leak_target);
  }
  // The daemon has no terminal: it detached from the one it was started in.
  for (const auto& [fd, target] : daemon_fds) {
    if (target.rfind("/dev/pts/", 0) != 0) continue;
    INFO("daemon fd ", fd, " -> ", target);
    CHECK(target == "/dev/pts/ptmx");  // a session's master may show so; never a slave
  }
  // No privileges beyond the user's: an ordinary user's daemon has no
  // capabilities. (As root every process has them; nothing to compare.)
  std::istringstream status(proc(a.daemon, "status"));
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("CapEff:", 0) == 0) {
      const std::string note = "daemon " + line + (getuid() == 0 ? " (running as root: not checked)" : "");
      MESSAGE(note);
      if (getuid() != 0) CHECK(line.find_first_not_of("0", line.find_first_not_of(" \t", 7)) == std::string::npos);
    }
}
