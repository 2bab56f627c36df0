#include "client/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "protocol/unique_fd.h"

namespace roam::client {

namespace {

constexpr size_t max_captured = 64 * 1024;

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe, std::string> make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail(fmt::format("pipe: {}", std::strerror(errno)));
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Complete stderr lines: marked ones kept, the others shown at once.
void sort_lines(std::string& pending, const std::string& marker, std::vector<std::string>& marked, bool flush) {
  size_t start = 0;
  while (true) {
    const size_t nl = pending.find('\n', start);
    if (nl == std::string::npos && !(flush && start < pending.size())) break;
    const size_t end = nl == std::string::npos ? pending.size() : nl;
    const std::string_view line(pending.data() + start, end - start);
    if (line.starts_with(marker)) marked.emplace_back(line.substr(marker.size()));
    else (void)!write(STDERR_FILENO, pending.data() + start, end - start + (nl != std::string::npos));
    start = nl == std::string::npos ? pending.size() : nl + 1;
  }
  pending.erase(0, start);
}

}  // namespace

Result<Spawned, std::string> spawn_and_wait(const SpawnSpec& spec) {
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::optional<Pipe> out, err;
  if (spec.capture_out) {
    auto p = make_pipe();
    if (!p) return fail(p.error());
    out = std::move(*p);
  }
  if (!spec.marker.empty()) {
    auto p = make_pipe();
    if (!p) return fail(p.error());
    err = std::move(*p);
  }
  const pid_t pid = fork();
  if (pid < 0) return fail(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    if (spec.stdin_fd >= 0) dup2(spec.stdin_fd, STDIN_FILENO);
    if (out) dup2(out->write.get(), STDOUT_FILENO);
    if (err) dup2(err->write.get(), STDERR_FILENO);
    const std::string& program = spec.program.empty() ? spec.argv[0] : spec.program;
    execvp(program.c_str(), argv.data());
    const std::string why = fmt::format("roam: cannot run {}: {}\n", program, std::strerror(errno));
    (void)!write(STDERR_FILENO, why.data(), why.size());
    _exit(127);
  }
  Spawned result;
  std::string pending_err;
  pollfd fds[2] = {{out ? out->read.get() : -1, POLLIN, 0}, {err ? err->read.get() : -1, POLLIN, 0}};
  if (out) out->write.reset();
  if (err) err->write.reset();
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        continue;
      }
      if (i == 0) {
        if (result.out.size() < max_captured) result.out.append(buf, static_cast<size_t>(n));
      } else {
        pending_err.append(buf, static_cast<size_t>(n));
        sort_lines(pending_err, spec.marker, result.marked, false);
      }
    }
  }
  if (err) sort_lines(pending_err, spec.marker, result.marked, true);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace roam::client
