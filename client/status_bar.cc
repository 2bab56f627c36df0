#include "client/status_bar.h"

#include <fmt/format.h>

#include "client/input_queue.h"

namespace roam::client {

namespace {

constexpr std::string_view help_line =
    " roam: Ctrl-^ d detach | Ctrl-^ [ history | Ctrl-^ Ctrl-Z suspend | Ctrl-^ ^ send Ctrl-^ | Ctrl-L repaint |"
    " Ctrl-^ ? this help ";

}  // namespace

std::string mebibytes(size_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

std::string status_line(const StatusFacts& f) {
  if (f.help_until && f.now < *f.help_until) return std::string(help_line);
  if (f.refused_at && f.now - *f.refused_at < refused_shown_ms)
    return fmt::format(" roam: {} of input not sent: at most {} can wait to be sent ", mebibytes(f.refused),
                       fmt::format("{} MiB", InputQueue::max_queued >> 20));
  const uint64_t s = f.silent_ms / 1000;
  if (f.silent_ms >= restart_hint_ms)
    return fmt::format(" roam: {} s without contact; server may have restarted: {} ", s,
                       f.reattach.empty() ? "roam attach it again" : f.reattach);
  if (f.silent_ms >= contact_warning_ms) return fmt::format(" roam: last contact {} s ago \u2014 Ctrl-^ d to detach ", s);
  return {};
}

}  // namespace roam::client
