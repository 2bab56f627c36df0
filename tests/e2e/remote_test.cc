// Remote sessions end to end: roam on "this" side, a real sshd on 127.0.0.1,
// and roam-server on "the other side" (this machine again, in the test's own
// runtime directory, set for ssh sessions by the sshd's SetEnv). The local
// roam gets a runtime directory it cannot use, so nothing works unless it
// really goes through ssh.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "protocol/instruction.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/sshd.h"
#include "tests/e2e/terminal_driver.h"

using namespace roam::e2e;
using namespace std::chrono_literals;

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

// The local roam's environment: a runtime directory under a regular file,
// which no daemon can ever use.
Env local_env(const Sandbox& sb) {
  std::ofstream(sb.dir() + "/not-a-dir") << "";
  return {{"ROAM_RUNTIME_DIR", sb.dir() + "/not-a-dir/run"}, {"PS1", "local>"}, {"ENV", ""}};
}

struct Via {
  std::string ssh;
  std::string server = roam_server_bin();
};

std::vector<std::string> roam_argv(const Via& via, const std::vector<std::string>& args) {
  std::vector<std::string> argv{roam_bin(), "--ssh=" + via.ssh, "--server=" + via.server};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// A non-interactive remote command (ls, new, kill, rename, history).
Run remote(const Sandbox& sb, const Via& via, const std::vector<std::string>& args) {
  return run(roam_argv(via, args), {local_env(sb), {}, 120s});
}

// roam attach HOST_NAME [-- command] in a terminal.
std::unique_ptr<TerminalDriver> attach(const Sandbox& sb, const Via& via, const std::string& target,
                                       std::vector<std::string> command = {"/bin/sh"}) {
  std::vector<std::string> args{"attach", target};
  if (!command.empty()) {
    args.emplace_back("--");
    args.insert(args.end(), command.begin(), command.end());
  }
  return std::make_unique<TerminalDriver>(roam_argv(via, args), 80, 24, local_env(sb));
}

// A stand-in for roam-server on the remote side: a script printing `line`.
std::string fake_server(const Sshd& sshd, const std::string& line) {
  const std::string path = sshd.dir() + "/fake-server";
  {
    std::ofstream f(path);
    f << "#!/bin/sh\nprintf '%s\\n' '" << line << "'\n";
  }
  chmod(path.c_str(), 0755);
  return path;
}

// Runs attach to a target that fails; returns what it printed and its exit status.
std::pair<std::string, std::optional<int>> failed_attach(const Sandbox& sb, const Via& via,
                                                         std::chrono::milliseconds timeout = 60s) {
  auto t = attach(sb, via, "127.0.0.1:work");
  const auto status = t->wait_exit(timeout);
  return {t->output(), status};
}

bool lists(const Run& r, const std::string& name) {
  return contains("\n" + r.out, "\n" + name + " ");
}

// The first word of each line of `roam ls` (the header's too).
std::vector<std::string> names(const std::string& listing) {
  std::vector<std::string> out;
  std::istringstream in(listing);
  for (std::string line; std::getline(in, line);) out.push_back(line.substr(0, line.find(' ')));
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

// The fixture alone, without roam's ssh support: plain ssh logs in, and what
// it starts runs in this test's runtime directory with the test's prompt.
TEST_CASE("the sshd fixture: ssh reaches roam-server in the test's runtime directory") {
  Sandbox sb;
  Sshd sshd(sb.runtime());
  ROAM_REQUIRE_SSHD(sshd);
  auto ssh = [&](std::vector<std::string> remote_words) {
    auto argv = words(sshd.ssh_command());
    argv.emplace_back("127.0.0.1");
    argv.emplace_back("--");
    argv.insert(argv.end(), remote_words.begin(), remote_words.end());
    return run(argv, {{}, {}, 120s});
  };
  Run r = ssh({"echo", "\"$ROAM_RUNTIME_DIR\""});
  REQUIRE_MESSAGE(r.status == 0, std::string(r.err + sshd.log()));
  CHECK(r.out == sb.runtime() + "\n");

  r = ssh({roam_server_bin(), "new", "probe", "--", "/bin/sh"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(lists(sb.roam({"ls"}), "probe"));
  CHECK(wait_until([&] { return contains(sb.roam({"history", "probe"}).out, "rdy>"); }));

  r = ssh({roam_server_bin(), "attach", "probe", "--size", "80x24"});
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK_MESSAGE(r.out.rfind("ROAM CONNECT ", 0) == 0, r.out);
  CHECK_MESSAGE(contains(r.out, " addr=127.0.0.1"), r.out);

  // Only the fixture's own key gets in.
  auto argv = words(sshd.ssh_command(sshd.port(), sshd.unauthorized_key()));
  argv.insert(argv.end(), {"127.0.0.1", "--", "true"});
  r = run(argv, {{}, {}, 120s});
  CHECK(r.status == 255);
  CHECK_MESSAGE(contains(r.err, "Permission denied"), r.err);
}

TEST_CASE("attach over ssh: type, see the output, detach, re-attach to the same screen") {
  Sandbox sb;
  Sshd sshd(sb.runtime());
  ROAM_REQUIRE_SSHD(sshd);
  const Via via{sshd.ssh_command()};

  auto t = attach(sb, via, "127.0.0.1:work");
  REQUIRE_MESSAGE(t->wait_for_text("rdy>", 60s), t->output());
  t->type("echo over-ssh\r");
  // The prompt after the output too: it may come in a later frame.
  REQUIRE_MESSAGE(t->wait_for_text("\nover-ssh\nrdy>"), t->screen_text());
  const std::string before = t->screen_text();

  t->type("\x1e" "d");
  REQUIRE_MESSAGE(t->wait_for_text("[detached from work]"), t->screen_text());
  CHECK(t->wait_exit() == 0);
  CHECK(t->cursor_visible());
  // The session lives on in the daemon the ssh login started: the one in
  // this test's runtime directory.
  CHECK(lists(sb.roam({"ls"}), "work"));

  auto again = attach(sb, via, "127.0.0.1:work", {});
  REQUIRE_MESSAGE(again->wait_for_text("over-ssh", 60s), again->output());
  CHECK_MESSAGE(again->wait_for([&](const TerminalDriver& d) { return d.screen_text() == before; }, 15s),
                "before:\n", before, "\nafter:\n", again->screen_text());
  again->type("echo still-over-ssh\r");
  CHECK(again->wait_for_text("\nstill-over-ssh\n"));
  again->type("\x1e.");
  CHECK(again->wait_exit() == 0);
}

TEST_CASE("ls, rename and kill over ssh") {
  Sandbox sb;
  Sshd sshd(sb.runtime());
  ROAM_REQUIRE_SSHD(sshd);
  const Via via{sshd.ssh_command()};
  REQUIRE(sb.roam({"new", "work", "--", "sleep", "1000"}).status == 0);

  Run r = remote(sb, via, {"ls", "127.0.0.1"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK_MESSAGE(lists(r, "work"), r.out);
  // The same sessions as on the remote machine itself.
  CHECK(names(r.out) == names(sb.roam({"ls"}).out));

  r = remote(sb, via, {"rename", "127.0.0.1:work", "moved"});
  CHECK_MESSAGE(r.status == 0, r.err);
  r = remote(sb, via, {"ls", "127.0.0.1"});
  CHECK_MESSAGE(lists(r, "moved"), r.out);
  CHECK_FALSE(lists(r, "work"));

  r = remote(sb, via, {"kill", "127.0.0.1:moved"});
  CHECK_MESSAGE(r.status == 0, r.err);
  r = remote(sb, via, {"ls", "127.0.0.1"});
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK_FALSE(lists(r, "moved"));
  CHECK_FALSE(lists(sb.roam({"ls"}), "moved"));

  // Failures come through with the remote command's message and status.
  const Run here = sb.roam({"kill", "nosuch"});
  REQUIRE(here.status != 0);
  r = remote(sb, via, {"kill", "127.0.0.1:nosuch"});
  CHECK(r.status == here.status);
  CHECK_MESSAGE(contains(r.err, "no session named 'nosuch'"), r.err);
}

TEST_CASE("new and history over ssh") {
  Sandbox sb;
  Sshd sshd(sb.runtime());
  ROAM_REQUIRE_SSHD(sshd);
  const Via via{sshd.ssh_command()};

  Run r = remote(sb, via, {"new", "127.0.0.1:job", "--", "sleep", "100"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(lists(sb.roam({"ls"}), "job"));
  r = remote(sb, via, {"history", "127.0.0.1:job"});
  CHECK_MESSAGE(r.status == 0, r.err);
  r = remote(sb, via, {"history", "127.0.0.1:nosuch"});
  CHECK(r.status != 0);
}

TEST_CASE("the command reaches the remote side word for word") {
  Sandbox sb;
  Sshd sshd(sb.runtime());
  ROAM_REQUIRE_SSHD(sshd);
  const Via via{sshd.ssh_command()};

  // Blanks, quotes, $ and ; in the words must survive the remote shell.
  Run r = remote(sb, via,
                 {"new", "127.0.0.1:quoted", "--", "/bin/sh", "-c", "echo \"[$0]\" \"[$1]\"; sleep 100",
                  "it's  $HOME", "a;b *"});
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK_MESSAGE(wait_until(
                    [&] {
                      r = remote(sb, via, {"history", "127.0.0.1:quoted"});
                      return contains(r.out, "[it's  $HOME] [a;b *]");
                    },
                    60s),
                std::string(r.out + r.err));
}

TEST_CASE("ssh failing: wrong port, wrong key") {
  Sandbox sb;
  Sshd sshd(sb.runtime());
  ROAM_REQUIRE_SSHD(sshd);
  const std::string failed = "roam: ssh to 127.0.0.1 failed";

  SUBCASE("nobody listening") {
    const Via via{sshd.ssh_command(unused_tcp_port(), sshd.key())};
    const Run r = remote(sb, via, {"ls", "127.0.0.1"});
    CHECK(r.status == 1);
    CHECK_MESSAGE(contains(r.err, "Connection refused"), r.err);  // ssh's own words
    CHECK_MESSAGE(contains(r.err, failed + "\n"), r.err);
    const auto [out, status] = failed_attach(sb, via);
    CHECK(status == 1);
    CHECK_MESSAGE(contains(out, failed), out);
  }
  SUBCASE("a key the server does not know") {
    const Via via{sshd.ssh_command(sshd.port(), sshd.unauthorized_key())};
    const Run r = remote(sb, via, {"ls", "127.0.0.1"});
    CHECK(r.status == 1);
    CHECK_MESSAGE(contains(r.err, "Permission denied"), r.err);
    CHECK_MESSAGE(contains(r.err, failed + "\n"), r.err);
    const auto [out, status] = failed_attach(sb, via);
    CHECK(status == 1);
    CHECK_MESSAGE(contains(out, failed), out);
  }
  // Nothing was started on the remote side.
  CHECK_FALSE(sb.daemon_pid());
}

TEST_CASE("no roam-server on the remote side") {
  Sandbox sb;
  Sshd sshd(sb.runtime());
  ROAM_REQUIRE_SSHD(sshd);
  const Via via{sshd.ssh_command(), "/nonexistent/roam-server"};
  const std::string message =
      "roam: roam-server not found on 127.0.0.1 (install it, or pass --server=PATH)";

  const Run r = remote(sb, via, {"ls", "127.0.0.1"});
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, message + "\n"), r.err);
  const auto [out, status] = failed_attach(sb, via);
  CHECK(status == 1);
  CHECK_MESSAGE(contains(out, message), out);
}

TEST_CASE("a remote side that does not answer with a good ROAM CONNECT line") {
  Sandbox sb;
  Sshd sshd(sb.runtime());
  ROAM_REQUIRE_SSHD(sshd);

  SUBCASE("no CONNECT line") {
    const Via via{sshd.ssh_command(), fake_server(sshd, "hello")};
    const auto [out, status] = failed_attach(sb, via);
    CHECK(status == 1);
    CHECK_MESSAGE(contains(out, "roam: 127.0.0.1 did not answer with a ROAM CONNECT line"), out);
  }
  SUBCASE("a malformed CONNECT line") {
    const Via via{sshd.ssh_command(), fake_server(sshd, "ROAM CONNECT banana")};
    const auto [out, status] = failed_attach(sb, via);
    CHECK(status == 1);
    CHECK_MESSAGE(contains(out, "roam: malformed ROAM CONNECT line from 127.0.0.1"), out);
  }
  SUBCASE("another protocol version") {
    const Via via{sshd.ssh_command(),
                  fake_server(sshd, "ROAM CONNECT 60001 0123456789abcdef AAECAwQFBgcICQoLDA0ODw proto=99")};
    const auto [out, status] = failed_attach(sb, via);
    CHECK(status == 1);
    CHECK_MESSAGE(contains(out, "roam: the roam-server on 127.0.0.1 speaks protocol 99, this roam speaks " +
                                    std::to_string(roam::protocol_version)),
                  out);
  }
}

TEST_CASE("no UDP reply: say which port to open") {
  Sandbox sb;
  Sshd sshd(sb.runtime());
  ROAM_REQUIRE_SSHD(sshd);
  const int port = closed_udp_port();
  const Via via{sshd.ssh_command(),
                fake_server(sshd, "ROAM CONNECT " + std::to_string(port) +
                                      " 0123456789abcdef AAECAwQFBgcICQoLDA0ODw proto=" +
                                      std::to_string(roam::protocol_version))};
  const auto [out, status] = failed_attach(sb, via, 90s);
  CHECK(status == 1);
  CHECK_MESSAGE(contains(out, "roam: no UDP reply from 127.0.0.1 port " + std::to_string(port) +
                                  " \u2014 is that UDP port open?"),
                out);
}
