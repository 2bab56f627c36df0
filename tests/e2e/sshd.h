// A real OpenSSH server for end-to-end tests of remote sessions: sshd on
// 127.0.0.1 at a free port, with a throwaway host key, its own client key and
// its own configuration, in a temporary directory removed afterwards. Logins
// are as the user running the tests; their sessions get ROAM_RUNTIME_DIR (the
// test Sandbox's runtime directory), so the "remote" roam-server is this
// machine's, in the test's own runtime directory.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace roam::e2e {

class Sshd {
 public:
  // `runtime_dir`: ROAM_RUNTIME_DIR for the sessions (Sandbox::runtime()).
  // Never throws for want of sshd: check ok() (or use ROAM_REQUIRE_SSHD).
  // `env`: more variables for the sessions (PATH, XDG_CACHE_HOME...).
  explicit Sshd(const std::string& runtime_dir, const std::vector<std::pair<std::string, std::string>>& env = {});
  ~Sshd();  // kills this sshd (and only it), removes the directory
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }  // why it did not start
  // Whether a test must fail (rather than skip) when sshd did not start:
  // as root (CI) it always can.
  static bool required();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }  // scratch space, removed afterwards
  const std::string& key() const { return key_; }  // the authorized client key

  // An ssh command line (words separated by blanks, no quoting needed) that
  // logs in here non-interactively: for roam's --ssh=.
  std::string ssh_command() const { return ssh_command(port_, key_); }
  // The same with another port or identity (for tests of failures).
  std::string ssh_command(int port, const std::string& key) const;
  // Generates a new key in dir() that is NOT authorized; returns its path.
  std::string unauthorized_key();
  // The sshd's own log (stderr), for failure messages.
  std::string log() const;

 private:
  bool start(const std::string& runtime_dir, const std::vector<std::pair<std::string, std::string>>& env,
             std::string& why);
  std::string dir_, key_, error_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A TCP port on 127.0.0.1 nobody listened on a moment ago.
int unused_tcp_port();
// A UDP port on 127.0.0.1 nobody is bound to a moment ago.
int closed_udp_port();

}  // namespace roam::e2e

// In a doctest test case: skips it (one line) when sshd cannot run here, but
// fails it where it must (as root).
#define ROAM_REQUIRE_SSHD(sshd)                                                   \
  do {                                                                            \
    if (!(sshd).ok()) {                                                           \
      if (::roam::e2e::Sshd::required()) FAIL("sshd did not start: " << (sshd).error()); \
      MESSAGE("skipped: no usable sshd here (" << (sshd).error() << ")");        \
      return;                                                                     \
    }                                                                             \
  } while (0)
