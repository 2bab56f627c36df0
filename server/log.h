// The daemon's log: one timestamped line per event, in the runtime directory.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace roam::server {

// Opens (appending) the log file; until then, and if that fails, lines go to stderr.
void open_log(const std::string& path);
void log_line(std::string_view message);

template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
  log_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace roam::server
