// The impairment relay (tests/tools/relay) as a child process of a test.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace roam::e2e {

std::string relay_bin();  // from $ROAM_RELAY_BIN, set by meson
std::string read_file(const std::string& path);
// The number after "key": in the object after "section": (or at the top) of
// the relay's stats JSON; -1 if absent.
long long json_number(const std::string& json, const std::string& section, const std::string& key);

class RelayProcess {
 public:
  // Relays to 127.0.0.1:server_port; `dir` holds its port file, stats and
  // control socket. `extra`: link options such as {"--delay", "150"}.
  RelayProcess(const std::string& dir, int server_port, std::vector<std::string> extra);
  ~RelayProcess();  // kills it
  RelayProcess(const RelayProcess&) = delete;
  RelayProcess& operator=(const RelayProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends one control action ("rebind", "outage 20"...); returns the reply.
  std::string ctl(const std::string& action);
  std::string stats() const;
  // Stops it with SIGTERM; returns the exit status.
  int stop();

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace roam::e2e
