#include "mux/reaper.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <string_view>

#include "protocol/unique_fd.h"

namespace roam::mux {
namespace {

// How often a pending kill looks at what still runs: a program that dies of
// the hangup is collected within this, not after the whole grace.
constexpr uint64_t check_ms = 100;

struct ProcStat {
  char state = 0;
  pid_t session = 0;
};

// The state and session id from /proc/PID/stat, "pid (comm) state ppid pgrp
// session ...": comm may hold spaces and parentheses, so fields count from
// the last ')'.
std::optional<ProcStat> proc_stat(pid_t pid) {
  char path[32];
  *fmt::format_to_n(path, sizeof path - 1, "/proc/{}/stat", pid).out = '\0';
  UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[512];
  const ssize_t n = read(fd.get(), buf, sizeof buf);
  if (n <= 0) return std::nullopt;
  std::string_view s(buf, static_cast<size_t>(n));
  const auto close = s.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  s.remove_prefix(close + 1);
  long fields[4] = {};  // state (skipped), ppid, pgrp, session
  ProcStat st;
  for (int i = 0; i < 4; ++i) {
    const auto start = s.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    s.remove_prefix(start);
    const auto end = std::min(s.find(' '), s.size());
    if (i == 0) st.state = s[0];
    else if (std::from_chars(s.data(), s.data() + end, fields[i]).ec != std::errc{}) return std::nullopt;
    s.remove_prefix(end);
  }
  st.session = static_cast<pid_t>(fields[3]);
  return st;
}

bool running(char state) { return state != 'Z' && state != 'X' && state != 'x'; }

struct DirClose {
  void operator()(DIR* d) const { closedir(d); }
};

template <class F>
void for_each_process(F f) {
  std::unique_ptr<DIR, DirClose> proc(opendir("/proc"));
  if (!proc) return;
  while (const dirent* e = readdir(proc.get())) {
    pid_t pid = 0;
    const std::string_view name = e->d_name;
    if (std::from_chars(name.data(), name.data() + name.size(), pid).ec == std::errc{} && pid > 0) f(pid);
  }
}

// glibc 2.36's <sys/pidfd.h> lacks extern "C", so C++ cannot link its
// wrappers: the system calls themselves.
int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }
bool pidfd_kill(int pidfd) { return syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0; }

// SIGKILL to `pid` if it is a running member of session `sid`. The check is
// made after opening the pidfd: if the pid was reused meanwhile, what we
// read is the newcomer, and the pidfd names the dead process, so the signal
// reaches nobody.
bool kill_member(pid_t pid, pid_t sid) {
  UniqueFd pidfd(pidfd_open(pid));
  if (!pidfd) return false;
  const auto st = proc_stat(pid);
  if (!st || st->session != sid || !running(st->state)) return false;
  return pidfd_kill(pidfd.get());
}

}  // namespace

Reaper::Reaper(uv_loop_t* loop) : loop_(loop) {
  uv_timer_init(loop, timer_.get());
  timer_.get()->data = this;
}

Reaper::~Reaper() {
  if (pending_.empty()) return;
  // The daemon is going: the grace ends now.
  for_each_process([&](pid_t pid) {
    const auto st = proc_stat(pid);
    if (!st || !running(st->state)) return;
    for (const Pending& p : pending_)
      if (st->session == p.leader) kill_member(pid, p.leader);
  });
  for (const Pending& p : pending_) {
    int status;
    waitpid(p.leader, &status, WNOHANG);  // if not yet dead, init collects it after we exit
  }
}

void Reaper::hang_up(pid_t leader, std::string name) {
  kill(-leader, SIGHUP);
  kill(-leader, SIGCONT);
  pending_.push_back({leader, std::move(name), uv_now(loop_) + grace_ms, {}, {}});
  if (!uv_is_active(timer_.base()))
    uv_timer_start(timer_.get(), [](uv_timer_t* t) { static_cast<Reaper*>(t->data)->check(); }, check_ms, check_ms);
}

void Reaper::reap() {
  std::erase_if(stragglers_, [](pid_t pid) {
    int status;
    return waitpid(pid, &status, WNOHANG) == pid;
  });
}

void Reaper::check() {
  const uint64_t now = uv_now(loop_);
  for (Pending& p : pending_) p.live.clear();
  for_each_process([&](pid_t pid) {
    const auto st = proc_stat(pid);
    if (!st || !running(st->state)) return;
    for (Pending& p : pending_)
      if (st->session == p.leader) p.live.push_back(pid);
  });
  std::erase_if(pending_, [&](Pending& p) {
    if (p.live.empty() || now >= p.deadline + give_up_ms) {
      finish(p);
      return true;
    }
    if (now >= p.deadline) {
      for (pid_t pid : p.live)
        if (kill_member(pid, p.leader) && std::find(p.killed.begin(), p.killed.end(), pid) == p.killed.end())
          p.killed.push_back(pid);
    }
    return false;
  });
  if (pending_.empty()) {
    uv_timer_stop(timer_.get());
    if (on_idle) on_idle();
  }
}

void Reaper::finish(Pending& p) {
  int status;
  if (waitpid(p.leader, &status, WNOHANG) != p.leader) stragglers_.push_back(p.leader);
  if (on_done) on_done(p.name, p.killed.size(), p.live.size());
}

}  // namespace roam::mux
