#include "mux/pty.h"

#include <fcntl.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace roam::mux {

namespace {

// Read at most this much per readiness event, so one noisy session cannot
// starve the others or the network.
constexpr size_t read_chunk = 64 * 1024;
constexpr int reads_per_event = 4;

std::vector<std::string> build_environment(const SpawnOptions& options) {
  std::vector<std::string> env;
  auto overridden = [&](std::string_view entry) {
    const auto eq = entry.find('=');
    const auto name = entry.substr(0, eq);
    if (name == "ROAM_KEY" || name == "ROAM_CONN_ID") return true;  // never leak secrets
    for (const auto& [k, v] : options.env)
      if (k == name) return true;
    return false;
  };
  for (char** e = environ; *e; ++e)
    if (!overridden(*e)) env.emplace_back(*e);
  for (const auto& [k, v] : options.env) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(const SpawnOptions& options, const char* file, char** argv, char** envp,
                             int error_fd) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig : {SIGPIPE, SIGCHLD, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH})
    signal(sig, SIG_DFL);
  // Nothing of the daemon's (sockets, the lock, other sessions' terminals)
  // reaches the program; fd 3 reports a failed exec and closes on success.
  if (error_fd != 3) {
    dup2(error_fd, 3);
  }
  fcntl(3, F_SETFD, FD_CLOEXEC);
  close_range(4, ~0U, 0);
  if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) {
    // Start in the home directory rather than fail, as a login would.
  }
  execve(file, argv, envp);
  const int err = errno;
  (void)!write(3, &err, sizeof err);
  _exit(127);
}

// execve needs a path: search PATH now, before fork.
std::string resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return program;
    dirs.remove_prefix(colon + 1);
  }
}

}  // namespace

std::string user_shell() {
  if (const char* s = std::getenv("SHELL"); s && *s) return s;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_shell && *pw->pw_shell) return pw->pw_shell;
  return "/bin/sh";
}

Result<std::unique_ptr<Pty>, std::string> Pty::spawn(uv_loop_t* loop, const SpawnOptions& options) {
  std::vector<std::string> argv = options.argv;
  std::string file;
  if (argv.empty()) {
    file = user_shell();
    const auto slash = file.rfind('/');
    argv.push_back("-" + file.substr(slash == std::string::npos ? 0 : slash + 1));  // a login shell
  } else {
    file = resolve(argv[0]);
  }
  auto env = build_environment(options);
  auto argv_p = pointers(argv);
  auto env_p = pointers(env);

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) return fail(fmt::format("pipe: {}", std::strerror(errno)));
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(options.cols);
  ws.ws_row = static_cast<unsigned short>(options.rows);
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) {
    const int err = errno;
    close(error_pipe[0]);
    close(error_pipe[1]);
    return fail(fmt::format("forkpty: {}", std::strerror(err)));
  }
  if (pid == 0) {
    close(error_pipe[0]);
    exec_child(options, file.c_str(), argv_p.data(), env_p.data(), error_pipe[1]);
  }
  close(error_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do n = read(error_pipe[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  close(error_pipe[0]);
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  auto pty = std::make_unique<Pty>(Token{}, loop, master, pid);
  if (n == sizeof child_errno) {
    // The child exits right after reporting, maybe not yet: wait for it, or
    // it stays a zombie (SIGCHLD reaps only the children of live sessions).
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pty->exit_status_ = 127;
    pty->collected_ = true;
    return fail(fmt::format("cannot run {}: {}", argv[0], std::strerror(child_errno)));
  }
  return pty;
}

Pty::Pty(Token, uv_loop_t* loop, int fd, pid_t pid) : fd_(fd), pid_(pid) {
  uv_poll_init(loop, poll_.get(), fd_);
  poll_.get()->data = this;
  update_poll();
}

Pty::~Pty() {
  poll_.close();
  close_fd();
}

void Pty::close_fd() {
  if (fd_ >= 0) {
    poll_.close();
    close(fd_);
    fd_ = -1;
  }
}

void Pty::update_poll() {
  if (fd_ < 0) return;
  const int events = UV_READABLE | (backlog() == 0 ? 0 : UV_WRITABLE);
  uv_poll_start(poll_.get(), events, [](uv_poll_t* h, int status, int ev) {
    static_cast<Pty*>(h->data)->on_poll(status, ev);
  });
}

void Pty::on_poll(int status, int events) {
  if (status < 0) events = UV_READABLE;  // let read() report what went wrong
  if (events & UV_WRITABLE) {
    const ssize_t n = ::write(fd_, pending_.data() + written_, backlog());
    if (n > 0) written_ += static_cast<size_t>(n);
    // The program takes a few kilobytes at a time: moving the rest down
    // after each write would copy a long paste over and over.
    if (written_ == pending_.size()) {
      pending_.clear();
      written_ = 0;
      update_poll();
    } else if (written_ > pending_.size() / 2) {
      pending_.erase(0, written_);
      written_ = 0;
    }
  }
  if (!(events & UV_READABLE)) return;
  char buf[read_chunk];
  for (int i = 0; i < reads_per_event; ++i) {
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n > 0) {
      if (on_output) on_output(std::string_view(buf, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) < sizeof buf) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // EIO (or EOF): every process closed the terminal's other side.
    close_fd();
    if (on_closed) on_closed();
    return;
  }
}

void Pty::write(std::string_view bytes) {
  if (fd_ < 0 || bytes.empty()) return;
  if (backlog() == 0) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n > 0) bytes.remove_prefix(static_cast<size_t>(n));
    if (bytes.empty()) return;
  }
  pending_.append(bytes);
  update_poll();
}

void Pty::resize(int cols, int rows) {
  if (fd_ < 0) return;
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  ioctl(fd_, TIOCSWINSZ, &ws);
}

bool Pty::reap() {
  if (exit_status_) return true;
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != pid_)
    return false;
  if (info.si_code == CLD_EXITED) exit_status_ = info.si_status;
  else exit_status_ = 128 + info.si_status;  // killed or dumped core
  return true;
}

void Pty::collect() {
  if (collected_ || !reap()) return;
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  collected_ = true;
}

}  // namespace roam::mux
