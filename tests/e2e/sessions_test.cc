// The local session commands, end to end with the real binaries.
#include <doctest/doctest.h>

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/e2e/harness.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

// The `roam ls` line of one session, or "".
std::string ls_line(Sandbox& sb, std::string_view name) {
  std::istringstream in(sb.roam({"ls"}).out);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(std::string(name) + " ")) return line;
  return {};
}

bool ended(Sandbox& sb, std::string_view name, int status = 0) {
  return contains(ls_line(sb, name), "[exited " + std::to_string(status) + "]");
}

// Dead: no such process, or a zombie its parent has not collected yet.
bool gone(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("State:")) return contains(line, "Z");
  return true;
}

std::string seq(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) out += std::to_string(i) + "\n";
  return out;
}

}  // namespace

TEST_CASE("every line of a 200,000-line output is in the history, in order") {
  Sandbox sb;
  auto r = sb.roam({"new", "a", "--", "sh", "-c", "seq 1 200000"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  REQUIRE(wait_until([&] { return ended(sb, "a"); }));
  r = sb.roam({"history", "a"});
  CHECK(r.status == 0);
  CHECK(r.err == "");
  CHECK(r.out.size() == seq(200000).size());
  CHECK(r.out == seq(200000));
  // Reading never removes a session: it stays until killed.
  CHECK(ended(sb, "a"));
  CHECK(sb.roam({"kill", "a"}).status == 0);
  CHECK(ls_line(sb, "a") == "");
}

TEST_CASE("ls, rename and kill behave and print what a user expects") {
  Sandbox sb;
  auto r = sb.roam({"ls"});
  CHECK(r.status == 0);
  CHECK(r.err == "no sessions\n");
  REQUIRE(sb.roam({"new", "work"}).status == 0);
  REQUIRE(sb.roam({"new", "build", "--size", "100x30", "--", "sleep", "1000"}).status == 0);
  r = sb.roam({"ls"});
  CHECK(r.status == 0);
  CHECK(r.out.starts_with("NAME "));
  CHECK(contains(r.out, "CLIENTS"));
  const auto build = ls_line(sb, "build");
  CHECK(contains(build, "100x30"));
  CHECK(contains(build, "sleep 1000"));
  CHECK(contains(ls_line(sb, "work"), "80x24"));

  r = sb.roam({"rename", "work", "play"});
  CHECK(r.status == 0);
  CHECK(ls_line(sb, "work") == "");
  CHECK(ls_line(sb, "play") != "");
  r = sb.roam({"rename", "play", "build"});
  CHECK(r.status == 1);
  CHECK(r.err == "roam: session 'build' already exists\n");

  r = sb.roam({"kill", "play"});
  CHECK(r.status == 0);
  CHECK(ls_line(sb, "play") == "");
  r = sb.roam({"kill", "play"});
  CHECK(r.status == 1);
  CHECK(r.err == "roam: no session named 'play'\n");
  CHECK(sb.roam({"kill", "build"}).status == 0);
  // The daemon exits with its last session; ls still answers.
  const auto pid_gone = [&] { return !sb.daemon_pid(); };
  CHECK(wait_until(pid_gone, 20s));
  r = sb.roam({"ls"});
  CHECK(r.status == 0);
  CHECK(r.err == "no sessions\n");
}

TEST_CASE("bad names, duplicates and unknown sessions give one-line errors and non-zero exits") {
  Sandbox sb;
  for (const std::string& bad : std::vector<std::string>{"a b", "", "x/y", std::string(65, 'n'), "caf\xc3\xa9"}) {
    CAPTURE(bad);
    auto r = sb.roam({"new", bad});
    CHECK(r.status != 0);
    CHECK(contains(r.err, "invalid session name"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  REQUIRE(sb.roam({"new", std::string(64, 'n')}).status == 0);
  REQUIRE(sb.roam({"new", "ok.name_1-2"}).status == 0);
  auto r = sb.roam({"new", "ok.name_1-2"});
  CHECK(r.status == 1);
  CHECK(r.err == "roam: session 'ok.name_1-2' already exists\n");
  r = sb.roam({"rename", "ok.name_1-2", "no way"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "invalid session name 'no way'"));
  for (const auto& cmd : {std::vector<std::string>{"kill", "ghost"}, {"history", "ghost"}, {"rename", "ghost", "g2"}}) {
    r = sb.roam(cmd);
    CHECK(r.status == 1);
    CHECK(r.err == "roam: no session named 'ghost'\n");
  }
  r = sb.roam({"frobnicate"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "unknown command 'frobnicate'"));
  r = sb.roam({"new", "x", "--", "/nonexistent/program"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "cannot run /nonexistent/program"));
}

TEST_CASE("a missing roam-server gives a clear error") {
  Sandbox sb;
  const std::string lonely = sb.dir() + "/bin";
  std::filesystem::create_directory(lonely);
  std::filesystem::copy_file(roam_bin(), lonely + "/roam");
  auto r = run({lonely + "/roam", "ls"}, {{{"PATH", "/nonexistent"}, {"ROAM_RUNTIME_DIR", sb.runtime()}}, {}, 20s});
  CHECK(r.status == 127);
  CHECK(r.err == "roam: roam-server not found beside roam or on PATH (install it, or pass --server=PATH)\n");
  r = run({lonely + "/roam", "--server=/nonexistent/roam-server", "ls"}, {{{"ROAM_RUNTIME_DIR", sb.runtime()}}, {}, 20s});
  CHECK(r.status == 127);
  CHECK(contains(r.err, "roam: cannot run /nonexistent/roam-server"));
  r = run({lonely + "/roam", "--server=" + roam_server_bin(), "ls"}, {{{"ROAM_RUNTIME_DIR", sb.runtime()}}, {}, 20s});
  CHECK(r.status == 0);
}

TEST_CASE("after kill -9 of the daemon the next commands work") {
  Sandbox sb;
  REQUIRE(sb.roam({"new", "s", "--", "sleep", "1000"}).status == 0);
  const auto pid = sb.daemon_pid();
  REQUIRE(pid);
  REQUIRE(kill(*pid, SIGKILL) == 0);
  REQUIRE(wait_until([&] { return gone(*pid); }));
  // The socket is stale now.
  CHECK(std::filesystem::exists(sb.runtime() + "/server.sock"));
  auto r = sb.roam({"ls"});
  CHECK(r.status == 0);
  CHECK(r.err == "no sessions\n");
  r = sb.roam({"new", "t"});
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK(ls_line(sb, "t") != "");
  const auto second = sb.daemon_pid();
  REQUIRE(second);
  CHECK(*second != *pid);
}

TEST_CASE("one daemon per user: a second one refuses to start") {
  Sandbox sb;
  REQUIRE(sb.roam({"new", "one"}).status == 0);
  auto r = sb.server({"daemon", "--foreground"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "a roam-server daemon is already running (pid "));
}

TEST_CASE("a runtime directory open to other users is refused") {
  Sandbox sb;
  REQUIRE(mkdir(sb.runtime().c_str(), 0755) == 0);
  REQUIRE(chmod(sb.runtime().c_str(), 0755) == 0);
  auto r = sb.roam({"new", "x"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "is accessible to other users (mode 755): refusing to use it"));
}

TEST_CASE("the session's program gets the terminal environment, the working directory and no stray fds") {
  Sandbox sb;
  RunOptions here;
  here.cwd = sb.dir();
  auto r = sb.roam({"new", "env", "--", "sh", "-c",
                    "echo \"T=$TERM C=$COLORTERM S=$ROAM_SESSION\"; pwd; ls -l /proc/self/fd; stty size"},
                   here);
  REQUIRE(r.status == 0);
  REQUIRE(wait_until([&] { return ended(sb, "env"); }));
  r = sb.roam({"history", "env"});
  CHECK(contains(r.out, "T=xterm-256color C=truecolor S=env\n"));
  CHECK(contains(r.out, std::filesystem::canonical(sb.dir()).string() + "\n"));
  // The program inherits nothing of the daemon's: no socket, pipe, lock or log
  // (its own fds are its terminal and the directory ls reads).
  for (std::string_view leak : {"socket:", "pipe:", "server.lock", "server.log", "anon_inode"})
    CHECK_MESSAGE(!contains(r.out, leak), r.out);
  CHECK(contains(r.out, "0 -> /dev/pts/"));
  CHECK(contains(r.out, "24 80\n"));
}

TEST_CASE("history options: --lines, --grep, --ansi and exit statuses") {
  Sandbox sb;
  REQUIRE(sb.roam({"new", "h", "--", "sh", "-c",
                   "seq 1 500; printf '\\033[31mred\\033[0m and plain\\n'; echo Needle; exit 3"})
              .status == 0);
  REQUIRE(wait_until([&] { return ended(sb, "h", 3); }));
  auto r = sb.roam({"history", "h", "--lines", "2"});
  CHECK(r.out == "red and plain\nNeedle\n");
  // A running session reads the same.
  REQUIRE(sb.roam({"new", "h2", "--", "sh", "-c", "seq 1 500; printf '\\033[31mred\\033[0m and plain\\n'; echo Needle; sleep 1000"}).status == 0);
  REQUIRE(wait_until([&] { return contains(sb.roam({"history", "h2", "--lines", "1"}).out, "Needle"); }));
  CHECK(sb.roam({"history", "h", "--grep", "needle", "-i"}).out == "Needle\n");
  r = sb.roam({"history", "h2", "--grep", "needle", "-i"});
  CHECK(r.out == "Needle\n");
  r = sb.roam({"history", "h2", "--grep", "needle"});
  CHECK(r.out == "");
  r = sb.roam({"history", "h2", "--grep", "50"});
  CHECK(r.out == "50\n150\n250\n350\n450\n500\n");
  r = sb.roam({"history", "h2", "--lines", "2", "--ansi"});
  CHECK(r.out == "\x1b[0;31mred\x1b[0m and plain\nNeedle\n");
  r = sb.roam({"history", "h2", "--lines", "0"});
  CHECK(r.status == 2);
}

namespace {

// What the daemon at `socket` says to a client of uid/gid that connects
// and sends one (empty) request frame: a forked child, so the test keeps
// its own uid.
std::string raw_answer_as(const std::string& socket, uid_t uid, gid_t gid) {
  int out[2];
  REQUIRE(pipe(out) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(out[0]);
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(1);
    timeval patience{10, 0};  // the refusal comes at once; a silent daemon fails the check
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    const uint8_t frame[] = {1, 0, 0, 0, 0};  // u32 length 1, then a body byte
    if (write(fd, frame, sizeof frame) != static_cast<ssize_t>(sizeof frame)) _exit(1);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
      if (write(out[1], buf, static_cast<size_t>(n)) != n) _exit(1);
    _exit(0);
  }
  close(out[1]);
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
  close(out[0]);
  waitpid(pid, nullptr, 0);
  return answer;
}

}  // namespace

TEST_CASE("another user cannot use the control socket") {
  if (geteuid() != 0) {
    MESSAGE("skipped: needs root to create a second user");
    return;
  }
  const char* user = "roamtest2";
  if (!getpwnam(user)) REQUIRE(run({"/usr/sbin/useradd", "--no-create-home", "--shell", "/bin/sh", user}).status == 0);
  const passwd* pw = getpwnam(user);
  REQUIRE(pw);
  Sandbox sb;
  REQUIRE(sb.roam({"new", "mine", "--", "sleep", "1000"}).status == 0);
  const auto as_other = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/setpriv", "--reuid", std::to_string(pw->pw_uid), "--regid",
                               std::to_string(pw->pw_gid), "--clear-groups", roam_server_bin()});
    return run(args, {{{"ROAM_RUNTIME_DIR", sb.runtime()}}, "/", 20s});
  };
  // The command itself refuses a directory that is not the user's...
  std::filesystem::permissions(sb.dir(), std::filesystem::perms(0755));
  auto r = as_other({"ls"});
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "belongs to uid 0 (root), not to you"), r.err);
  // ...also when the directory and socket are opened up; and the daemon
  // checks the peer's uid of a client that skips that check.
  std::filesystem::permissions(sb.runtime(), std::filesystem::perms(0755));
  std::filesystem::permissions(sb.runtime() + "/server.sock", std::filesystem::perms(0777));
  r = as_other({"ls"});
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "belongs to uid 0 (root)"), r.err);
  CHECK_MESSAGE(contains(raw_answer_as(sb.runtime() + "/server.sock", pw->pw_uid, pw->pw_gid),
                         "permission denied: this roam daemon belongs to uid 0"),
                "the daemon did not refuse a foreign peer");
  r = as_other({"kill", "mine"});
  CHECK(r.status == 1);
  // Closed again, for the owner's own commands.
  std::filesystem::permissions(sb.runtime(), std::filesystem::perms(0700));
  CHECK(ls_line(sb, "mine") != "");
}
