// Ends what a killed session leaves running. A session's program leads its
// own session and process group (forkpty makes it so). Killing it hangs it
// up as closing a terminal does (SIGHUP, then SIGCONT so that stopped jobs
// act on it); whatever is still in that session a grace later gets SIGKILL.
// Processes that left the session on purpose (setsid: daemons) are not
// touched. The leader, our child, is reaped only once nothing of its session
// runs: until then its pid, and with it the session and group ids, cannot
// be given to anyone else, so no signal can reach a stranger.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "protocol/uv_handle.h"

namespace roam::mux {

class Reaper {
 public:
  static constexpr uint64_t grace_ms = 2000;
  // After the grace, how long SIGKILL is given to work (a process stuck in
  // the kernel, or one we may not signal) before we stop watching.
  static constexpr uint64_t give_up_ms = 5000;

  explicit Reaper(uv_loop_t* loop);
  // Whatever is still in its grace gets SIGKILL now.
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // `leader` is our child, not yet reaped, the leader of a killed session.
  void hang_up(pid_t leader, std::string name);
  // Nothing is in its grace or being killed.
  bool idle() const { return pending_.empty(); }
  // On SIGCHLD: collects leaders that outlived our watch.
  void reap();

  // Every process of a killed session has ended; `killed` of them got SIGKILL,
  // `survivors` were still running when we stopped watching.
  std::function<void(const std::string& name, size_t killed, size_t survivors)> on_done;
  // idle() became true.
  std::function<void()> on_idle;

 private:
  struct Pending {
    pid_t leader;
    std::string name;
    uint64_t deadline;             // SIGKILL from here on
    std::vector<pid_t> killed;     // the processes that got SIGKILL
    std::vector<pid_t> live;       // scratch: still running, from the last look at /proc
  };
  void check();
  void finish(Pending& p);

  uv_loop_t* loop_;
  std::vector<Pending> pending_;
  std::vector<pid_t> stragglers_;  // leaders not yet dead when we stopped watching
  UvHandle<uv_timer_t> timer_;
};

}  // namespace roam::mux
