// Runs the real roam and roam-server binaries for end-to-end tests. Each
// Sandbox has its own runtime directory and kills only the daemon it started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roam::e2e {

struct Run {
  int status = -1;  // exit status; 128+N for signal N; -1 on timeout
  std::string out, err;
};

struct RunOptions {
  std::vector<std::pair<std::string, std::string>> env;  // added or replaced
  std::string cwd;
  std::chrono::milliseconds timeout{60'000};
};

// Runs argv[0] (a path) with argv, waits for it (killing it at the timeout).
Run run(const std::vector<std::string>& argv, const RunOptions& options = {});

// Whether `text` holds `needle`: what most assertions on output ask.
inline bool contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(60'000));

// A field of /proc/PID/status in kB (VmRSS, VmHWM...); -1 if absent.
long long proc_status_kb(pid_t pid, const std::string& field);
// The state letter of /proc/PID/stat (R, S, T for stopped...); 0 if gone.
char process_state(pid_t pid);
// The children of a process (from /proc/PID/task/PID/children).
std::vector<pid_t> child_pids(pid_t pid);

std::string roam_bin();         // from $ROAM_BIN, set by meson
std::string roam_server_bin();  // from $ROAM_SERVER_BIN

// Where a client reaches a new attachment: the `ROAM CONNECT PORT ID KEY`
// line that `roam-server attach` prints.
struct ConnectLine {
  int port = 0;
  std::string id, key;
};
// Nothing if `out` does not start with such a line.
std::optional<ConnectLine> parse_connect_line(const std::string& out);

class TerminalDriver;
// `roam [OPTIONS] connect 127.0.0.1 PORT` with the line's id and key, in an
// 80x24 TerminalDriver; PORT: the daemon's, or a relay's in front of it.
std::unique_ptr<TerminalDriver> connect_client(const ConnectLine& c, int port, std::vector<std::string> options = {});

class Sandbox;
// `roam [OPTIONS] attach NAME [-- CMD...]` of the sandbox in a cols x rows
// TerminalDriver; a shell there prompts "rdy>".
std::unique_ptr<TerminalDriver> attach_client(const Sandbox& sb, const std::string& name, int cols, int rows,
                                              std::vector<std::string> command = {"/bin/sh"},
                                              std::vector<std::string> options = {});
// The text under `column` (a heading of `roam ls`: SIZE, CLIENTS...) in the
// line of session `name`; nothing if there is no such line.
std::optional<std::string> ls_column(Sandbox& sb, const std::string& name, const std::string& column);

class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& dir() const { return dir_; }          // scratch space, removed afterwards
  const std::string& runtime() const { return runtime_; }  // ROAM_RUNTIME_DIR

  Run roam(std::vector<std::string> args, RunOptions options = {});
  Run server(std::vector<std::string> args, RunOptions options = {});
  // `roam-server attach NAME --size 80x24 [-- CMD]`, the session's shell
  // prompting "rdy>" (or with PS1 from `env`): starts the daemon if needed.
  // Nothing if it failed or printed no CONNECT line.
  std::optional<ConnectLine> attach_line(const std::string& name, std::vector<std::string> command = {},
                                         std::vector<std::pair<std::string, std::string>> env = {});
  // The running daemon's pid, from `roam-server info`.
  std::optional<pid_t> daemon_pid();
  // `roam-server info` as name -> number (lines without a number left out).
  std::map<std::string, long long> info_numbers();

 private:
  Run with_runtime(std::vector<std::string> argv, RunOptions options);
  std::string dir_, runtime_;
};

}  // namespace roam::e2e
