#include "client/escape.h"

namespace roam::client {

void EscapeKeys::feed(std::string_view in, std::string& to_session, std::vector<LocalCommand>& commands) {
  constexpr std::string_view page_up = "\x1b[5~";
  for (char c : in) {
    if (!sequence_.empty()) {
      sequence_ += c;
      if (sequence_ == page_up) {
        commands.push_back(LocalCommand::pager);
        sequence_.clear();
      } else if (!page_up.starts_with(sequence_)) {
        to_session += sequence_;  // another key: it goes through as typed
        sequence_.clear();
      }
      continue;
    }
    if (pending_) {
      pending_ = false;
      switch (c) {
        case 'd':
        case '.': commands.push_back(LocalCommand::detach); continue;
        case '?': commands.push_back(LocalCommand::help); continue;
        case '[': commands.push_back(LocalCommand::pager); continue;
        case '\x1a': commands.push_back(LocalCommand::suspend); continue;  // Ctrl-Z, as in mosh
        case '\x1b': sequence_ = c; continue;
        case '^': to_session += escape_; continue;
        default:
          if (c == escape_) {
            to_session += escape_;
            continue;
          }
          break;  // any other key goes through as typed
      }
    } else if (c == escape_) {
      pending_ = true;
      continue;
    }
    // Ctrl-L repaints our display and still reaches the program, as in mosh.
    if (c == '\x0c') commands.push_back(LocalCommand::repaint);
    to_session += c;
  }
}

}  // namespace roam::client
