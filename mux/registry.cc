#include "mux/registry.h"

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

Registry::Registry(uv_loop_t* loop) : loop_(loop), reaper_(loop) {
  reaper_.on_done = [this](const std::string& name, size_t killed, size_t survivors) {
    if (on_programs_ended) on_programs_ended(name, killed, survivors);
  };
  reaper_.on_idle = [this] { check_empty(); };
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
  Session& s = *it->second;
  // An ended session's program is collected already, and nothing holds its terminal.
  if (!s.ended()) reaper_.hang_up(s.pid(), s.name());
  if (on_session_removed) on_session_removed(s);
  sessions_.erase(it);
  check_empty();
  return {};
}

std::vector<std::string> Registry::kill_ended() {
  std::vector<std::string> names;
  for (const auto& [name, s] : sessions_)
    if (s->ended()) names.push_back(name);
  for (const auto& name : names) (void)kill(name);
  return names;
}

void Registry::kill_all() {
  std::vector<std::string> names;
  for (const auto& [name, s] : sessions_) names.push_back(name);
  for (const auto& name : names) (void)kill(name);
}

void Registry::check_empty() {
  if (empty() && on_empty) on_empty();
}

std::vector<Session*> Registry::list() const {
  std::vector<Session*> out;
  for (const auto& [name, s] : sessions_) out.push_back(s.get());
  return out;
}

void Registry::reap_children() {
  reaper_.reap();
  // A session's on_ended may run here; it must not remove sessions.
  for (auto& [name, s] : sessions_) s->reap();
}

}  // namespace roam::mux
