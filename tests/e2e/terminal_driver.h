// A person at a terminal, for end-to-end tests: runs a program in a
// pseudo-terminal of a given size, types into it, and reads what the screen
// shows through libvterm's screen layer (a stand-in for the user's terminal).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roam::e2e {

class TerminalDriver {
 public:
  TerminalDriver(std::vector<std::string> argv, int cols, int rows,
                 std::vector<std::pair<std::string, std::string>> env = {});
  ~TerminalDriver();  // kills the program if it still runs
  TerminalDriver(const TerminalDriver&) = delete;
  TerminalDriver& operator=(const TerminalDriver&) = delete;

  void type(std::string_view keys);
  // Closes the terminal, as closing its window does: the program gets
  // SIGHUP and reads end. Only wait_exit() and the readers below work after.
  void hang_up();
  void resize(int cols, int rows);  // SIGWINCH follows, as with a real window

  // Reads whatever output is ready (waiting up to `wait`) into the screen.
  void pump(std::chrono::milliseconds wait = std::chrono::milliseconds(20));
  // Pumps until `condition` holds on the screen; false at the deadline.
  bool wait_for(const std::function<bool(const TerminalDriver&)>& condition,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));
  bool wait_for_text(std::string_view text, std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));

  std::string row(int y) const;  // trailing blanks dropped
  std::string screen_text() const;  // rows joined with '\n'
  // The screen once it has not changed for `quiet`: a program's output may
  // reach the client in more than one frame.
  std::string settled_text(std::chrono::milliseconds quiet = std::chrono::milliseconds(500));
  // The rows that scrolled off the top into the terminal's own scrollback,
  // oldest first, as text like row()'s.
  const std::vector<std::string>& scrollback() const;
  bool contains(std::string_view text) const { return screen_text().find(text) != std::string::npos; }
  std::pair<int, int> cursor() const;  // (col, row)
  // Whether the cell at (x, y) is drawn in reverse video.
  bool reverse(int x, int y) const;
  bool underlined(int x, int y) const;  // the cell at column x of row y
  bool cursor_visible() const;
  // Row y with its colours and attributes, for comparing what two terminals
  // show: each change of pen is written as {fg,bg,attrs} before its cell.
  std::string styled_row(int y) const;
  std::string styled_text() const;  // styled rows joined with '\n'
  // The pseudo-terminal's line discipline as the program set it: raw means
  // no line editing (ICANON) and no echo.
  bool raw_mode() const;
  int cols() const { return cols_; }
  int rows() const { return rows_; }
  // Everything the program ever wrote, raw.
  const std::string& output() const { return output_; }

  // Waits for the program to exit; its status, or nothing at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));
  pid_t pid() const { return pid_; }

 private:
  struct Vt;
  std::unique_ptr<Vt> vt_;
  int fd_ = -1;
  pid_t pid_ = -1;
  int cols_, rows_;
  std::optional<int> status_;
  std::string output_;
};

}  // namespace roam::e2e
