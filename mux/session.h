// One named session: a program in a pseudo-terminal, the terminal emulator
// that keeps its screen, and the history of every row that scrolled off.
#pragma once

#include <uv.h>

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mux/history.h"
#include "mux/pty.h"
#include "mux/terminal.h"
#include "protocol/result.h"

namespace roam::mux {

struct SessionOptions {
  std::string name;
  SpawnOptions spawn;  // argv empty: the login shell
  History::Limits history;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>, std::string> create(uv_loop_t* loop, SessionOptions options);

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  // What runs, as a person would type it.
  const std::string& command() const { return command_; }
  std::time_t created() const { return created_; }
  std::time_t last_activity() const { return last_activity_; }
  int cols() const { return cols_; }
  int rows() const { return rows_; }

  const Terminal& terminal() const { return terminal_; }
  const History& history() const { return history_; }

  // Keystrokes and pastes from a client.
  void input(std::string_view bytes);
  // Input bytes the program has not read yet.
  size_t input_backlog() const { return pty_->backlog(); }
  void resize(int cols, int rows);

  // The program has exited and its terminal is drained: the screen and
  // history are final.
  bool ended() const { return ended_; }
  std::optional<int> exit_status() const { return pty_ ? pty_->exit_status() : std::nullopt; }
  pid_t pid() const { return pty_->pid(); }
  // Called on SIGCHLD: collects our child's exit if it happened.
  void reap();
  // Called once, when the session ends.
  std::function<void(Session&)> on_ended;
  // Called after the screen (or the history) changed.
  std::function<void(Session&)> on_change;

  struct Token {};  // only create() constructs
  Session(Token, SessionOptions options);

 private:
  void check_ended();

  std::string name_;
  std::string command_;
  std::time_t created_, last_activity_;
  int cols_, rows_;
  Terminal terminal_;
  History history_;
  std::unique_ptr<Pty> pty_;
  bool ended_ = false;
};

}  // namespace roam::mux
