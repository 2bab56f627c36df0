// The named sessions of one daemon.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mux/session.h"
#include "protocol/result.h"

namespace roam::mux {

// Names are 1-64 characters of [A-Za-z0-9._-].
bool valid_session_name(std::string_view name);
// The message a user sees for an invalid name.
std::string invalid_name_message(std::string_view name);

class Registry {
 public:
  explicit Registry(uv_loop_t* loop) : loop_(loop) {}

  Result<Session*, std::string> create(SessionOptions options);
  Session* find(std::string_view name) const;
  Result<void, std::string> rename(std::string_view from, std::string_view to);
  // Ends the session now: its program is hung up and reaped later.
  Result<void, std::string> kill(std::string_view name);

  // Sessions in name order.
  std::vector<Session*> list() const;
  size_t size() const { return sessions_.size(); }

  // On SIGCHLD: reap our own children only, never waitpid(-1), which would
  // steal the exits of processes libuv spawned.
  void reap_children();

  // A session's program ended (its screen and history remain until killed).
  std::function<void(Session&)> on_session_ended;
  // Any session's screen changed.
  std::function<void(Session&)> on_session_changed;
  // A session is about to be destroyed (killed, or released after it ended).
  std::function<void(Session&)> on_session_removed;
  // The registry became empty after holding sessions.
  std::function<void()> on_empty;

 private:
  uv_loop_t* loop_;
  std::map<std::string, std::unique_ptr<Session>, std::less<>> sessions_;
  std::vector<pid_t> orphans_;  // hung-up children of killed sessions, not yet reaped
};

}  // namespace roam::mux
