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

#include "mux/reaper.h"
#include "mux/session.h"
#include "protocol/result.h"

namespace roam::mux {

// Names are 1-64 characters of [A-Za-z0-9._-].
bool valid_session_name(std::string_view name);
// The message a user sees for an invalid name.
std::string invalid_name_message(std::string_view name);

class Registry {
 public:
  explicit Registry(uv_loop_t* loop);

  Result<Session*, std::string> create(SessionOptions options);
  Session* find(std::string_view name) const;
  Result<void, std::string> rename(std::string_view from, std::string_view to);
  // Removes the session now. If its program still runs, the Reaper hangs
  // it up and, after its grace, kills what remains of its session.
  Result<void, std::string> kill(std::string_view name);
  // Kills every session whose program has ended; returns their names.
  std::vector<std::string> kill_ended();
  // Kills every session (the daemon is stopping).
  void kill_all();

  // Sessions in name order.
  std::vector<Session*> list() const;
  size_t size() const { return sessions_.size(); }

  // On SIGCHLD: reap our own children only, never waitpid(-1), which would
  // steal the exits of processes libuv spawned.
  void reap_children();
  // No session, and nothing of a killed one still running.
  bool empty() const { return sessions_.empty() && reaper_.idle(); }

  // A session's program ended (its screen and history remain until killed).
  std::function<void(Session&)> on_session_ended;
  // Any session's screen changed.
  std::function<void(Session&)> on_session_changed;
  // A session is about to be destroyed (killed, or released after it ended).
  std::function<void(Session&)> on_session_removed;
  // empty() became true after sessions were held.
  std::function<void()> on_empty;
  // The programs of a killed session have all ended (see Reaper::on_done).
  std::function<void(const std::string& name, size_t killed, size_t survivors)> on_programs_ended;

 private:
  void check_empty();

  uv_loop_t* loop_;
  std::map<std::string, std::unique_ptr<Session>, std::less<>> sessions_;
  Reaper reaper_;
};

}  // namespace roam::mux
