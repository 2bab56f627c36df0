// The escape key (Ctrl-^ by default) and what follows it: local commands
// that never reach the session.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace roam::client {

enum class LocalCommand { detach, help, repaint, pager, suspend };

class EscapeKeys {
 public:
  explicit EscapeKeys(char escape = '\x1e') : escape_(escape) {}

  // Appends the bytes meant for the session to `to_session` and the local
  // commands to `commands`. An escape at the end of `in` waits for the next call.
  void feed(std::string_view in, std::string& to_session, std::vector<LocalCommand>& commands);

 private:
  char escape_;
  bool pending_ = false;
  std::string sequence_;  // a key sequence after the escape: PgUp opens the pager
};

}  // namespace roam::client
