// mux::Reaper on real processes: a session leader (as forkpty makes one)
// with a child, and a daemon that left the session with setsid.
#include "mux/reaper.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

namespace roam::mux {
namespace {

using Clock = std::chrono::steady_clock;

// Dead: no such process, or a zombie nobody has collected yet.
bool gone(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("State:")) return line.find('Z') != std::string::npos;
  return true;
}

struct Family {
  pid_t leader = -1, child = -1, daemon = -1;
};

// Forks a session leader that, if `stubborn`, ignores SIGHUP and SIGTERM
// (and so does its child, by inheritance); it starts a child in its session
// and a daemon in a session of its own, and reports their pids.
Family start_family(bool stubborn) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t leader = fork();
  REQUIRE(leader >= 0);
  if (leader == 0) {
    setsid();
    if (stubborn) {
      signal(SIGHUP, SIG_IGN);
      signal(SIGTERM, SIG_IGN);
    }
    // Each reports itself once set up: (which, pid).
    for (int i = 0; i < 2; ++i) {
      if (fork() == 0) {
        if (i == 1) setsid();
        const int report[2] = {i, getpid()};
        (void)!write(fds[1], report, sizeof report);
        for (;;) pause();
      }
    }
    for (;;) pause();
  }
  close(fds[1]);
  Family f{leader, -1, -1};
  for (int n = 0; n < 2; ++n) {
    int report[2] = {-1, -1};
    REQUIRE(read(fds[0], report, sizeof report) == static_cast<ssize_t>(sizeof report));
    (report[0] == 0 ? f.child : f.daemon) = report[1];
  }
  close(fds[0]);
  return f;
}

struct Done {
  size_t calls = 0, killed = 0, survivors = 0;
};

// Hangs the family up and runs the loop until the reaper is idle; how long it took.
std::chrono::milliseconds kill_family(const Family& f, Done& done) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::chrono::milliseconds took{};
  {
    Reaper reaper(&loop);
    reaper.on_done = [&](const std::string& name, size_t killed, size_t survivors) {
      CHECK(name == "work");
      ++done.calls;
      done.killed = killed;
      done.survivors = survivors;
    };
    const auto start = Clock::now();
    reaper.hang_up(f.leader, "work");
    CHECK_FALSE(reaper.idle());
    while (!reaper.idle() && Clock::now() - start < std::chrono::seconds(30)) uv_run(&loop, UV_RUN_ONCE);
    took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    CHECK(reaper.idle());
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // the timer's close
  CHECK(uv_loop_close(&loop) == 0);
  return took;
}

}  // namespace

TEST_CASE("a session that ignores SIGHUP and SIGTERM gets SIGKILL after the grace; a setsid daemon is spared") {
  const Family f = start_family(true);
  Done done;
  const auto took = kill_family(f, done);
  MESSAGE("stubborn session ended in ", took.count(), " ms");
  CHECK(took.count() >= static_cast<long>(Reaper::grace_ms));
  CHECK(took.count() < static_cast<long>(Reaper::grace_ms) + 2000);
  CHECK(done.calls == 1);
  CHECK(done.killed == 2);
  CHECK(done.survivors == 0);
  // The leader, our child, was reaped; its child is gone too.
  int status;
  CHECK(waitpid(f.leader, &status, WNOHANG) == -1);
  CHECK(gone(f.child));
  CHECK_FALSE(gone(f.daemon));
  kill(f.daemon, SIGKILL);
}

TEST_CASE("a session that dies of the hangup is collected at once, not after the grace") {
  const Family f = start_family(false);
  Done done;
  const auto took = kill_family(f, done);
  MESSAGE("session ended on the hangup in ", took.count(), " ms");
  CHECK(took.count() < static_cast<long>(Reaper::grace_ms));
  CHECK(done.calls == 1);
  CHECK(done.killed == 0);
  int status;
  CHECK(waitpid(f.leader, &status, WNOHANG) == -1);
  CHECK(gone(f.child));
  CHECK_FALSE(gone(f.daemon));
  kill(f.daemon, SIGKILL);
}

}  // namespace roam::mux
