#include "server/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/chrono.h>

#include <chrono>

namespace roam::server {

namespace {

int log_fd = STDERR_FILENO;
// Started afresh when it grows past this, so a long-lived daemon cannot fill a disk.
constexpr off_t max_log_size = 1 << 20;

}  // namespace

void open_log(const std::string& path) {
  struct stat st;
  const bool too_big = stat(path.c_str(), &st) == 0 && st.st_size > max_log_size;
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (too_big ? O_TRUNC : 0), 0600);
  if (fd >= 0) log_fd = fd;
}

void log_line(std::string_view message) {
  const auto now = std::chrono::system_clock::now();
  const std::string line = fmt::format("{:%Y-%m-%d %H:%M:%S} [{}] {}\n",
                                       fmt::localtime(std::chrono::system_clock::to_time_t(now)), getpid(), message);
  (void)!write(log_fd, line.data(), line.size());
}

}  // namespace roam::server
