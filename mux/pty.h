// A program running in a pseudo-terminal, watched from the libuv loop.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/result.h"
#include "protocol/uv_handle.h"

namespace roam::mux {

struct SpawnOptions {
  std::vector<std::string> argv;  // empty: the user's login shell
  std::string cwd;
  std::vector<std::pair<std::string, std::string>> env;  // added to the inherited environment
  int cols = 80, rows = 24;
};

class Pty {
 public:
  static Result<std::unique_ptr<Pty>, std::string> spawn(uv_loop_t* loop, const SpawnOptions& options);
  // Closes the terminal, which hangs up the program (SIGHUP), as closing a
  // terminal window does. The child is not collected: see collect().
  ~Pty();

  // Output from the program, as it arrives.
  std::function<void(std::string_view)> on_output;
  // The terminal was closed on the program's side (every process exited or
  // closed it): no more output will come.
  std::function<void()> on_closed;

  // Queued; written as the program reads, never blocking the loop.
  void write(std::string_view bytes);
  // Bytes written but not yet taken by the program: a writer that cares
  // about memory (a client's paste) waits while this is large.
  // (Nothing once the terminal is closed: no one will read it.)
  size_t backlog() const { return fd_ < 0 ? 0 : pending_.size() - written_; }
  void resize(int cols, int rows);

  pid_t pid() const { return pid_; }
  // Learns the child's exit if it has happened (on our pid only), leaving it
  // a zombie: its pid stays ours, so nobody else can be signalled by it.
  // Returns true once the exit status is known.
  bool reap();
  // Lets the exited child go (waitpid). Until then, or until a Reaper takes
  // over the pid, it stays a zombie.
  void collect();
  // The exit code, or 128 + signal number, as a shell reports it.
  std::optional<int> exit_status() const { return exit_status_; }
  bool closed() const { return fd_ < 0; }

 private:
  struct Token {};  // only spawn() constructs

 public:
  Pty(Token, uv_loop_t* loop, int fd, pid_t pid);

 private:
  void on_poll(int status, int events);
  void update_poll();
  void close_fd();

  int fd_;
  pid_t pid_;
  std::optional<int> exit_status_;
  bool collected_ = false;
  std::string pending_;  // bytes waiting for the program to read, from written_ on
  size_t written_ = 0;
  UvHandle<uv_poll_t> poll_;
};

// The shell a new session runs: $SHELL, else the passwd entry, else /bin/sh.
std::string user_shell();

}  // namespace roam::mux
