// The line the client draws over the top row when it has something to say:
// the keys (Ctrl-^ ?), input it had to refuse, or how long the server has
// been silent and what that may mean.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace roam::client {

// How long after the last refused input the bar still says so.
inline constexpr uint64_t refused_shown_ms = 10'000;
// Silence from the server this long shows the "last contact" bar...
inline constexpr uint64_t contact_warning_ms = 6'500;
// ...and this long, that the server may have restarted (its attachments,
// and so this client's key, would be gone).
inline constexpr uint64_t restart_hint_ms = 30'000;

struct StatusFacts {
  uint64_t now = 0;
  std::optional<uint64_t> help_until;
  uint64_t silent_ms = 0;  // since the server was last heard from (or since we started)
  size_t refused = 0;      // input bytes refused so far
  std::optional<uint64_t> refused_at;
  std::string reattach;  // how to get the session back ("roam attach box:work"), if known
};

// Empty when there is nothing to say.
std::string status_line(const StatusFacts& facts);

// "6.2 MiB", for messages about amounts of input.
std::string mebibytes(size_t bytes);

}  // namespace roam::client
