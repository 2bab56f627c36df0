#include "mux/session.h"

#include <unistd.h>

#include <climits>

namespace roam::mux {

namespace {

std::string describe(const SpawnOptions& spawn) {
  if (spawn.argv.empty()) return user_shell();
  std::string out;
  for (const auto& arg : spawn.argv) {
    if (!out.empty()) out += ' ';
    out += arg;
  }
  return out;
}

}  // namespace

Session::Session(Token, SessionOptions options)
    : name_(std::move(options.name)),
      command_(describe(options.spawn)),
      created_(std::time(nullptr)),
      last_activity_(created_),
      cols_(options.spawn.cols),
      rows_(options.spawn.rows),
      terminal_(cols_, rows_),
      history_(options.history) {}

Result<std::unique_ptr<Session>, std::string> Session::create(uv_loop_t* loop, SessionOptions options) {
  if (options.spawn.cwd.empty()) {
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof buf)) options.spawn.cwd = buf;
  }
  options.spawn.env.emplace_back("TERM", "xterm-256color");
  options.spawn.env.emplace_back("COLORTERM", "truecolor");
  options.spawn.env.emplace_back("ROAM_SESSION", options.name);
  const SpawnOptions spawn = options.spawn;
  auto session = std::make_unique<Session>(Token{}, std::move(options));
  auto pty = Pty::spawn(loop, spawn);
  if (!pty) return fail(pty.error());
  Session* s = session.get();
  s->pty_ = std::move(*pty);
  s->terminal_.on_scrollback = [s](const Row& row) { s->history_.append(row); };
  s->terminal_.on_reply = [s](std::string_view bytes) { s->pty_->write(bytes); };
  s->pty_->on_output = [s](std::string_view bytes) {
    s->last_activity_ = std::time(nullptr);
    s->terminal_.write(bytes);
    if (s->on_change) s->on_change(*s);
  };
  s->pty_->on_closed = [s] { s->check_ended(); };
  return session;
}

void Session::input(std::string_view bytes) {
  last_activity_ = std::time(nullptr);
  pty_->write(bytes);
}

void Session::resize(int cols, int rows) {
  if (cols == cols_ && rows == rows_) return;
  cols_ = cols;
  rows_ = rows;
  terminal_.resize(cols, rows);
  pty_->resize(cols, rows);
  if (on_change) on_change(*this);
}

void Session::reap() {
  if (pty_->reap()) check_ended();
}

void Session::check_ended() {
  // Both must have happened: the exit status is known, and every byte the
  // program wrote has been read (output can still be buffered after exit).
  if (ended_ || !pty_->closed() || !pty_->reap()) return;
  ended_ = true;
  // Nothing of the session runs that holds its terminal: its pid can go.
  pty_->collect();
  if (on_ended) on_ended(*this);
  if (on_change) on_change(*this);
}

}  // namespace roam::mux
