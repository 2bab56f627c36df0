#include "client/escape.h"

namespace roam::client {

void EscapeKeys::feed(std::string_view in, std::string& to_session, std::vector<LocalCommand>& commands) {
  for (char c : in) {
    if (pending_) {
      pending_ = false;
      switch (c) {
        case 'd':
        case '.': commands.push_back(LocalCommand::detach); continue;
        case '?': commands.push_back(LocalCommand::help); continue;
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
