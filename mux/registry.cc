#include "mux/registry.h"

#include <sys/wait.h>

#include <fmt/format.h>

#include <algorithm>

namespace roam::mux {

bool valid_session_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string invalid_name_message(std::string_view name) {
  std::string shown;
  for (char c : name.substr(0, 80)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  return fmt::format("invalid session name '{}': use 1-64 letters, digits, '.', '_' or '-'", shown);
}

Result<Session*, std::string> Registry::create(SessionOptions options) {
  if (!valid_session_name(options.name)) return fail(invalid_name_message(options.name));
  if (sessions_.contains(options.name)) return fail(fmt::format("session '{}' already exists", options.name));
  const std::string name = options.name;
  auto session = Session::create(loop_, std::move(options));
  if (!session) return fail(session.error());
  Session* s = session->get();
  s->on_ended = [this](Session& ended) {
    if (on_session_ended) on_session_ended(ended);
  };
  s->on_change = [this](Session& changed) {
    if (on_session_changed) on_session_changed(changed);
  };
  sessions_.emplace(name, std::move(*session));
  return s;
}

Session* Registry::find(std::string_view name) const {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : it->second.get();
}

Result<void, std::string> Registry::rename(std::string_view from, std::string_view to) {
  if (!valid_session_name(to)) return fail(invalid_name_message(to));
  auto it = sessions_.find(from);
  if (it == sessions_.end()) return fail(fmt::format("no session named '{}'", from));
  if (from == to) return {};
  if (sessions_.contains(to)) return fail(fmt::format("session '{}' already exists", to));
  auto node = sessions_.extract(it);
  node.key() = std::string(to);
  node.mapped()->set_name(std::string(to));
  sessions_.insert(std::move(node));
  return {};
}

Result<void, std::string> Registry::kill(std::string_view name) {
  auto it = sessions_.find(name);
  if (it == sessions_.end()) return fail(fmt::format("no session named '{}'", name));
  if (!it->second->exit_status()) orphans_.push_back(it->second->pid());
  if (on_session_removed) on_session_removed(*it->second);
  sessions_.erase(it);
  if (sessions_.empty() && on_empty) on_empty();
  return {};
}

std::vector<Session*> Registry::list() const {
  std::vector<Session*> out;
  for (const auto& [name, s] : sessions_) out.push_back(s.get());
  return out;
}

void Registry::reap_children() {
  std::erase_if(orphans_, [](pid_t pid) {
    int status;
    return waitpid(pid, &status, WNOHANG) == pid;
  });
  // A session's on_ended may run here; it must not remove sessions.
  for (auto& [name, s] : sessions_) s->reap();
}

}  // namespace roam::mux
