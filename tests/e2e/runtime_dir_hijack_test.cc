// Another local user prepares the runtime directory of a user who has none
// yet (/tmp/roam-$UID, XDG_RUNTIME_DIR unset) with a listening server.sock
// of their own, hoping that user's `roam new` talks to it: the command, the
// keystrokes and the screens would then be theirs. Two throwaway users, A
// (the victim) and B (the attacker), so this needs root (as CI runs).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "tests/e2e/harness.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

// A user made for this test and removed after it.
class ThrowawayUser {
 public:
  explicit ThrowawayUser(const std::string& name) : name_(name) {
    const Run r = run({"/usr/sbin/useradd", "--no-create-home", "--no-user-group", "--shell", "/bin/sh", name_});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const passwd* pw = getpwnam(name_.c_str());
    REQUIRE(pw != nullptr);
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }
  ~ThrowawayUser() { run({"/usr/sbin/userdel", name_}); }
  ThrowawayUser(const ThrowawayUser&) = delete;
  ThrowawayUser& operator=(const ThrowawayUser&) = delete;

  const std::string& name() const { return name_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }
  std::string fallback_dir() const { return "/tmp/roam-" + std::to_string(uid_); }

  // `roam ARGS` as this user, with no runtime directory in its environment:
  // the /tmp fallback is what it uses.
  Run roam(std::vector<std::string> args) const { return run_as(roam_bin(), std::move(args)); }
  Run run_as(const std::string& bin, std::vector<std::string> args) const {
    std::vector<std::string> argv{"/usr/bin/env", "-u", "XDG_RUNTIME_DIR", "-u", "ROAM_RUNTIME_DIR", "HOME=/tmp",
                                  "/usr/bin/setpriv", "--reuid=" + std::to_string(uid_),
                                  "--regid=" + std::to_string(gid_), "--clear-groups", bin};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.timeout = 30s;
    return run(argv, o);
  }

 private:
  std::string name_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

// B's listening socket at PATH; counts the connections it accepts (each
// closed at once). With `bind_as_root`, root binds it (where B could not)
// and B listens: SO_PEERCRED names whoever called listen().
class Listener {
 public:
  Listener(const std::string& path, const ThrowawayUser& owner, bool bind_as_root) {
    int ready[2], seen[2];
    REQUIRE(pipe(ready) == 0);
    REQUIRE(pipe2(seen, O_NONBLOCK) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) serve(path, owner, bind_as_root, ready[1], seen[1]);
    close(ready[1]);
    close(seen[1]);
    seen_ = seen[0];
    char ok = 0;
    const bool up = read(ready[0], &ok, 1) == 1 && ok == 'y';
    close(ready[0]);
    REQUIRE_MESSAGE(up, "the attacker's listener did not start");
  }
  ~Listener() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    close(seen_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int connections() {
    char buf[64];
    ssize_t n;
    while ((n = read(seen_, buf, sizeof buf)) > 0) count_ += static_cast<int>(n);
    return count_;
  }

 private:
  [[noreturn]] static void serve(const std::string& path, const ThrowawayUser& owner, bool bind_as_root, int ready,
                                 int seen) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    auto bind_it = [&] {
      return bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && chmod(path.c_str(), 0777) == 0;
    };
    if (bind_as_root && !bind_it()) _exit(1);
    if (setgroups(0, nullptr) != 0 || setgid(owner.gid()) != 0 || setuid(owner.uid()) != 0) _exit(1);
    if (!bind_as_root && !bind_it()) _exit(1);
    if (listen(fd, 8) != 0) _exit(1);
    if (write(ready, "y", 1) != 1) _exit(1);
    while (true) {
      const int c = accept(fd, nullptr, nullptr);
      if (c < 0) continue;
      if (write(seen, "c", 1) != 1) _exit(1);
      close(c);
    }
  }

  pid_t pid_ = -1;
  int seen_ = -1;
  int count_ = 0;
};

// The users for one test, and the victim's /tmp fallback removed before and after.
struct Users {
  ThrowawayUser a{"roamta" + std::to_string(getpid())};
  ThrowawayUser b{"roamtb" + std::to_string(getpid())};
  Users() { std::filesystem::remove_all(a.fallback_dir()); }
  ~Users() { std::filesystem::remove_all(a.fallback_dir()); }
};

bool running_as_root() {
  if (getuid() == 0) return true;
  MESSAGE("skipped: making throwaway users needs root (CI runs as root)");
  return false;
}

void make_dir(const std::string& path, const ThrowawayUser& owner, mode_t mode) {
  REQUIRE(mkdir(path.c_str(), mode) == 0);
  REQUIRE(chown(path.c_str(), owner.uid(), owner.gid()) == 0);
  REQUIRE(chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("another user's pre-created /tmp/roam-UID with a listening socket is refused before connecting") {
  if (!running_as_root()) return;
  Users u;
  const std::string dir = u.a.fallback_dir();
  make_dir(dir, u.b, 0755);
  Listener hijacker(dir + "/server.sock", u.b, false);
  const Run r = u.a.roam({"new", "victim", "--", "/bin/sleep", "100000"});
  CHECK(r.status != 0);
  CHECK_MESSAGE(contains(r.err, "belongs to uid " + std::to_string(u.b.uid()) + " (" + u.b.name() + ")"), r.err);
  CHECK(contains(r.err, "refusing"));
  CHECK(hijacker.connections() == 0);
}

TEST_CASE("a symlink planted as /tmp/roam-UID is refused, whatever it points to") {
  if (!running_as_root()) return;
  Users u;
  const std::string dir = u.a.fallback_dir(), target = dir + "-planted";
  std::filesystem::remove_all(target);
  make_dir(target, u.b, 0755);
  Listener hijacker(target + "/server.sock", u.b, false);
  REQUIRE(symlink(target.c_str(), dir.c_str()) == 0);
  REQUIRE(lchown(dir.c_str(), u.b.uid(), u.b.gid()) == 0);
  const Run r = u.a.roam({"new", "victim", "--", "/bin/sleep", "100000"});
  CHECK(r.status != 0);
  CHECK_MESSAGE(contains(r.err, "symbolic link (owned by uid " + std::to_string(u.b.uid())), r.err);
  CHECK(hijacker.connections() == 0);
  std::filesystem::remove(dir);
  std::filesystem::remove_all(target);
}

TEST_CASE("the victim's own runtime dir left open to others (mode 0755) is refused before connecting") {
  if (!running_as_root()) return;
  Users u;
  const std::string dir = u.a.fallback_dir();
  make_dir(dir, u.a, 0755);
  Listener hijacker(dir + "/server.sock", u.b, true);
  const Run r = u.a.roam({"new", "victim", "--", "/bin/sleep", "100000"});
  CHECK(r.status != 0);
  CHECK_MESSAGE(contains(r.err, "accessible to other users (mode 755)"), r.err);
  CHECK(hijacker.connections() == 0);
}

TEST_CASE("a daemon socket run by another user inside a correct runtime dir is refused (SO_PEERCRED)") {
  if (!running_as_root()) return;
  Users u;
  const std::string dir = u.a.fallback_dir();
  make_dir(dir, u.a, 0700);
  Listener hijacker(dir + "/server.sock", u.b, true);
  const Run r = u.a.roam({"new", "victim", "--", "/bin/sleep", "100000"});
  CHECK(r.status != 0);
  CHECK_MESSAGE(contains(r.err, "runs as uid " + std::to_string(u.b.uid()) + " (" + u.b.name() + ")"), r.err);
  CHECK(contains(r.err, "refusing"));
}

TEST_CASE("the victim, with a runtime dir of its own, starts and uses its own daemon (the control for the above)") {
  if (!running_as_root()) return;
  Users u;
  const Run ok = u.a.roam({"new", "victim", "--", "/bin/sleep", "100000"});
  REQUIRE_MESSAGE(ok.status == 0, ok.err);
  const Run info = u.a.run_as(roam_server_bin(), {"info"});
  CHECK(contains(info.out, "runtime_dir: " + u.a.fallback_dir()));
  const auto at = info.out.find("pid: ");
  REQUIRE(at != std::string::npos);
  const pid_t daemon = std::stoi(info.out.substr(at + 5));
  CHECK(u.a.roam({"kill", "victim"}).status == 0);
  // The daemon goes with its last session; userdel needs it gone.
  if (!wait_until([&] { return kill(daemon, 0) != 0; }, 30s)) {
    kill(daemon, SIGKILL);
    FAIL("the daemon did not exit after its last session was killed");
  }
}
