// roam carries its own roam-server to a host that has none (client/carry.h),
// end to end over the real sshd of the remote tests. The "remote" user's
// PATH has no roam-server and its cache (XDG_CACHE_HOME) is the test's own;
// the carried binary is the build's roam-server-OS-ARCH beside roam.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/utsname.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "tests/e2e/harness.h"
#include "tests/e2e/sshd.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_script(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  chmod(path.c_str(), 0755);
}

std::string local_system() {
  utsname u{};
  uname(&u);
  return std::string(u.sysname) + " " + u.machine;
}

// What roam carries: the build's roam-server-OS-ARCH beside roam.
std::string carried_path() {
  std::string system = local_system();
  std::string os = system.substr(0, system.find(' '));
  for (char& c : os) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string dir = std::filesystem::path(roam_bin()).parent_path().string();
  return dir + "/roam-server-" + os + "-" + system.substr(system.find(' ') + 1);
}

// A remote host without roam-server: sshd sessions get `path` as PATH and
// the test's own cache directory.
struct Host {
  explicit Host(std::string path = "/usr/bin:/bin", std::string cache = {})
      : cache(cache.empty() ? sb.dir() + "/remote-cache" : std::move(cache)),
        sshd(sb.runtime(), {{"PATH", path}, {"XDG_CACHE_HOME", this->cache}}) {}

  std::string cached() const { return cache + "/roam/bin/roam-server-" ROAM_VERSION; }

  std::vector<std::string> argv(const std::vector<std::string>& args, const std::string& ssh = {}) const {
    std::vector<std::string> out{roam_bin(), "--ssh=" + (ssh.empty() ? sshd.ssh_command() : ssh)};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }
  // The local roam cannot use a runtime directory: only ssh gets anywhere.
  Env local_env() const {
    std::ofstream(sb.dir() + "/not-a-dir") << "";
    return {{"ROAM_RUNTIME_DIR", sb.dir() + "/not-a-dir/run"}, {"PS1", "local>"}, {"ENV", ""}};
  }
  Run command(const std::vector<std::string>& args, const std::string& ssh = {}) const {
    return run(argv(args, ssh), {local_env(), {}, 120s});
  }
  std::unique_ptr<TerminalDriver> attach(const std::vector<std::string>& options) const {
    std::vector<std::string> args = options;
    args.insert(args.end(), {"attach", "127.0.0.1:work", "--", "/bin/sh"});
    return std::make_unique<TerminalDriver>(argv(args), 80, 24, local_env());
  }

  Sandbox sb;
  std::string cache;
  Sshd sshd;
};

// Types into the session, sees the answer, detaches.
void use_and_detach(TerminalDriver& t) {
  REQUIRE_MESSAGE(t.wait_for_text("rdy>", 60s), t.screen_text());
  t.type("echo carried-$((6*7))\r");
  CHECK_MESSAGE(t.wait_for_text("carried-42"), t.screen_text());
  t.type("\x1e" "d");
  CHECK_MESSAGE(t.wait_for_text("[detached from work]"), t.screen_text());
  CHECK(t.wait_exit() == 0);
}

struct Stamp {
  ino_t ino = 0;
  timespec mtime{};
  friend bool operator==(const Stamp& a, const Stamp& b) {
    return a.ino == b.ino && a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec;
  }
};
std::optional<Stamp> stamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return Stamp{st.st_ino, st.st_mtim};
}

// The bin directory holds nothing but finished copies: no temporary left.
bool no_leftovers(const Host& h) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(h.cache + "/roam/bin", ec))
    if (e.path().filename().string().starts_with(".")) return false;
  return true;
}

}  // namespace

TEST_CASE("carry: a host without roam-server gets roam's own, checked; the next attach copies nothing") {
  REQUIRE(std::filesystem::exists(carried_path()));
  Host h;
  ROAM_REQUIRE_SSHD(h.sshd);
  auto t = h.attach({"--install-server=yes"});
  use_and_detach(*t);
  REQUIRE(std::filesystem::exists(h.cached()));
  CHECK(read_file(h.cached()) == read_file(carried_path()));
  struct stat st {};
  REQUIRE(stat(h.cached().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(no_leftovers(h));
  const auto before = stamp(h.cached());

  auto again = h.attach({"--install-server=yes"});
  use_and_detach(*again);
  CHECK(stamp(h.cached()) == before);
  // The other commands use the cached copy too.
  const Run ls = h.command({"ls", "127.0.0.1"});
  CHECK_MESSAGE(ls.status == 0, ls.err);
  CHECK_MESSAGE(contains(ls.out, "work"), ls.out);
  CHECK(stamp(h.cached()) == before);
}

TEST_CASE("carry: --install-server=no, and ask without a terminal, copy nothing and say so") {
  Host h;
  ROAM_REQUIRE_SSHD(h.sshd);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--install-server=no", "ls", "127.0.0.1"},
                                               std::vector<std::string>{"ls", "127.0.0.1"}}) {
    const Run r = h.command(args);
    CHECK(r.status == 1);
    CHECK_MESSAGE(contains(r.err, "roam-server not found on 127.0.0.1"), r.err);
    CHECK_MESSAGE(contains(r.err, "--install-server=yes"), r.err);
    CHECK_FALSE(std::filesystem::exists(h.cached()));
  }
}

TEST_CASE("carry: ask, answered at the prompt: n copies nothing, y copies and runs") {
  Host h;
  ROAM_REQUIRE_SSHD(h.sshd);
  auto no = h.attach({});
  REQUIRE_MESSAGE(no->wait_for_text("[y/N]", 60s), no->screen_text());
  no->type("n\r");
  CHECK(no->wait_exit() == 1);
  CHECK_MESSAGE(no->wait_for_text("roam-server not found on 127.0.0.1"), no->screen_text());
  CHECK_FALSE(std::filesystem::exists(h.cached()));

  auto yes = h.attach({});
  REQUIRE_MESSAGE(yes->wait_for_text("[y/N]", 60s), yes->screen_text());
  CHECK(yes->contains("Copy roam's own (" + local_system()));
  yes->type("y\r");
  use_and_detach(*yes);
  CHECK(read_file(h.cached()) == read_file(carried_path()));
}

TEST_CASE("attack: a damaged or replaced cached roam-server is never run, and is replaced") {
  Host h;
  ROAM_REQUIRE_SSHD(h.sshd);
  Run r = h.command({"--install-server=yes", "ls", "127.0.0.1"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  REQUIRE(std::filesystem::exists(h.cached()));

  // A flipped byte: found by its sha256, copied again.
  {
    std::fstream f(h.cached(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(4096);
    char c = 0;
    f.get(c);
    f.seekp(4096);
    f.put(static_cast<char>(c ^ 0x40));
  }
  REQUIRE(read_file(h.cached()) != read_file(carried_path()));
  r = h.command({"--install-server=yes", "ls", "127.0.0.1"});
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK(read_file(h.cached()) == read_file(carried_path()));

  // Something else put in its place is not run, even with no leave to copy.
  write_script(h.cached(), "#!/bin/sh\necho PLANTED-RAN\n");
  chmod(h.cached().c_str(), 0700);
  r = h.command({"ls", "127.0.0.1"});
  CHECK(r.status == 1);
  CHECK_FALSE(contains(r.out + r.err, "PLANTED-RAN"));
  CHECK_MESSAGE(contains(r.err, "roam-server not found on 127.0.0.1"), r.err);
  r = h.command({"--install-server=yes", "ls", "127.0.0.1"});
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK_FALSE(contains(r.out + r.err, "PLANTED-RAN"));
  CHECK(read_file(h.cached()) == read_file(carried_path()));
}

TEST_CASE("attack: a copy cut short on the way is never run") {
  Host h;
  ROAM_REQUIRE_SSHD(h.sshd);
  // An ssh whose stdin stops after 100 kB, as a connection dropped mid-copy.
  const std::string cut = h.sb.dir() + "/cut-ssh";
  write_script(cut, "#!/bin/sh\nhead -c 100000 | exec " + h.sshd.ssh_command() + " \"$@\"\n");
  const Run r = h.command({"--install-server=yes", "ls", "127.0.0.1"}, cut);
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "the copy of roam-server to 127.0.0.1 was cut short; nothing was run"), r.err);
  CHECK_FALSE(std::filesystem::exists(h.cached()));
  CHECK(no_leftovers(h));
}

TEST_CASE("carry: another system or architecture is named, with what to do") {
  Sandbox scratch;
  const std::string fake = scratch.dir() + "/fake-bin";
  std::filesystem::create_directories(fake);
  write_script(fake + "/uname", "#!/bin/sh\necho FreeBSD amd64\n");
  Host h(fake + ":/usr/bin:/bin");
  ROAM_REQUIRE_SSHD(h.sshd);
  const Run r = h.command({"--install-server=yes", "ls", "127.0.0.1"});
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "the one roam carries is for " + local_system() + " while 127.0.0.1 runs FreeBSD amd64"),
                r.err);
  CHECK_MESSAGE(contains(r.err, "Installing on the remote host"), r.err);
  CHECK_FALSE(std::filesystem::exists(h.cached()));
}

TEST_CASE("carry: a cache that cannot be written is one clear line") {
  Sandbox scratch;
  std::ofstream(scratch.dir() + "/a-file") << "";
  Host h("/usr/bin:/bin", scratch.dir() + "/a-file/cache");
  ROAM_REQUIRE_SSHD(h.sshd);
  const Run r = h.command({"--install-server=yes", "ls", "127.0.0.1"});
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "cannot write roam-server to " + h.cache + "/roam/bin on 127.0.0.1"), r.err);
}

TEST_CASE("carry: without sha256sum on the remote, the copy is checked by its --version") {
  Sandbox scratch;
  const std::string tools = scratch.dir() + "/tools";
  std::filesystem::create_directories(tools);
  for (const char* tool : {"sh", "uname", "head", "wc", "chmod", "mv", "mkdir", "rm"})
    std::filesystem::create_symlink(std::filesystem::path("/bin") / tool, std::filesystem::path(tools) / tool);
  Host h(tools);
  ROAM_REQUIRE_SSHD(h.sshd);
  Run r = h.command({"--install-server=yes", "ls", "127.0.0.1"});
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK(read_file(h.cached()) == read_file(carried_path()));
  const auto before = stamp(h.cached());
  r = h.command({"--install-server=yes", "ls", "127.0.0.1"});
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK(stamp(h.cached()) == before);
}

TEST_CASE("carry: the portable build's roam-server needs only the C library") {
  const char* portable = std::getenv("ROAM_PORTABLE");
  if (!portable || std::string(portable) != "1") {
    MESSAGE("skipped: not a -Dportable_server=true build");
    return;
  }
  const Run r = run({"/usr/bin/ldd", carried_path()});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  std::istringstream lines(r.out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    const bool allowed = contains(line, "linux-vdso") || contains(line, "libc.so") || contains(line, "libm.so") ||
                         contains(line, "ld-linux");
    CHECK_MESSAGE(allowed, line);
  }
  CHECK(count > 0);
}
