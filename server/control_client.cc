#include "server/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace roam::server {

namespace {

// Answers can take a while (a long history), but a daemon that says
// nothing for this long is stuck.
constexpr int reply_timeout_s = 60;

Result<UniqueFd, int> try_connect(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail(ENAMETOOLONG);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail(errno);
  timeval tv{reply_timeout_s, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

Result<void, std::string> start_daemon() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return fail(fmt::format("cannot find my own executable: {}", std::strerror(errno)));
  self[n] = '\0';
  const pid_t pid = fork();
  if (pid < 0) return fail(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    execl(self, self, "daemon", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Exit status 1 may mean another command started a daemon at the same
  // moment: connecting will tell.
  return {};
}

// The daemon behind the socket must be ours: a socket that is not (put
// there by someone with a way into the directory) would hand them our
// commands, keystrokes and screens.
Result<void, std::string> check_peer(int fd, const std::string& path) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return fail(fmt::format("cannot check who runs the daemon at {}: {}", path, std::strerror(errno)));
  if (cred.uid != getuid())
    return fail(fmt::format("the daemon at {} runs as {} (pid {}), not as you ({}): refusing to use it", path,
                            describe_uid(cred.uid), cred.pid, describe_uid(getuid())));
  return {};
}

}  // namespace

// The directory is checked before anything in it is used, and the daemon's
// uid once connected.
Result<ControlClient, ConnectError> ControlClient::connect(const RuntimeDir& dir, bool start) {
  auto checked = [&](UniqueFd fd) -> Result<ControlClient, ConnectError> {
    if (auto ok = check_peer(fd.get(), dir.socket()); !ok) return fail(ConnectError{false, ok.error()});
    return ControlClient(std::move(fd));
  };
  auto safe = check_runtime_dir(dir);
  if (!safe) return fail(ConnectError{false, safe.error()});
  int err = ENOENT;
  if (*safe) {
    auto fd = try_connect(dir.socket());
    if (fd) return checked(std::move(*fd));
    err = fd.error();
  }
  if (err != ENOENT && err != ECONNREFUSED)
    return fail(ConnectError{false, fmt::format("cannot connect to {}: {}", dir.socket(), std::strerror(err))});
  if (!start) return fail(ConnectError{true, "no roam-server daemon is running"});
  if (auto ok = prepare_runtime_dir(dir); !ok) return fail(ConnectError{false, ok.error()});
  if (auto ok = start_daemon(); !ok) return fail(ConnectError{false, ok.error()});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    auto fd = try_connect(dir.socket());
    if (fd) return checked(std::move(*fd));
    if (std::chrono::steady_clock::now() > deadline)
      return fail(ConnectError{false, fmt::format("the daemon did not start (see {})", dir.log())});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<void, std::string> ControlClient::send(const Request& r) {
  std::vector<uint8_t> frame;
  encode(r, frame);
  size_t off = 0;
  while (off < frame.size()) {
    const ssize_t n = ::send(fd_.get(), frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    // The daemon may have answered (a refusal) and closed: receive() reads it.
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return {};
    if (n <= 0) return fail(fmt::format("lost the daemon: {}", std::strerror(errno)));
    off += static_cast<size_t>(n);
  }
  return {};
}

Result<Response, std::string> ControlClient::receive() {
  while (true) {
    auto frame = next_frame(in_, max_response_size + 16);
    if (!frame) return fail(std::string("the daemon sent an oversized answer"));
    if (*frame) {
      auto response = decode_response((*frame)->body);
      const size_t used = (*frame)->consumed;
      if (!response) {
        const auto v = body_version((*frame)->body);
        if (response.error() == Errc::bad_version && v)
          return fail(fmt::format("the running daemon speaks control protocol {}, this roam-server speaks {}", *v,
                                  control_version));
        return fail(fmt::format("malformed answer from the daemon ({})", to_string(response.error())));
      }
      in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(used));
      return std::move(*response);
    }
    uint8_t buf[64 * 1024];
    const ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return fail(std::string("the daemon did not answer"));
    if (n <= 0) return fail(std::string("the daemon closed the connection"));
    in_.insert(in_.end(), buf, buf + n);
  }
}

}  // namespace roam::server
