#include "client/keys.h"

#include "protocol/utf8.h"

namespace roam::client {

namespace {

Key csi_key(std::string_view params, char final) {
  using K = Key::Kind;
  switch (final) {
    case 'A': return {K::up};
    case 'B': return {K::down};
    case 'C': return {K::right};
    case 'D': return {K::left};
    case 'H': return {K::home};
    case 'F': return {K::end};
    case '~':
      if (params == "5") return {K::page_up};
      if (params == "6") return {K::page_down};
      if (params == "1" || params == "7") return {K::home};
      if (params == "4" || params == "8") return {K::end};
      return {};
    case 'M':
    case 'm':
      // SGR mouse: "<button;x;y"; 64 and 65 are the wheel.
      if (params.starts_with("<64;")) return {K::wheel_up};
      if (params.starts_with("<65;")) return {K::wheel_down};
      return {};
    default: return {};
  }
}

}  // namespace

std::vector<Key> parse_keys(std::string_view in) {
  using K = Key::Kind;
  std::vector<Key> keys;
  for (size_t i = 0; i < in.size();) {
    const char c = in[i];
    if (c == '\x1b') {
      if (i + 1 == in.size()) {
        keys.push_back({K::escape});
        ++i;
      } else if (in[i + 1] == '[') {
        size_t j = i + 2;
        while (j < in.size() && !(in[j] >= 0x40 && in[j] <= 0x7e)) ++j;
        if (j == in.size()) break;  // a cut sequence: dropped
        keys.push_back(csi_key(in.substr(i + 2, j - i - 2), in[j]));
        i = j + 1;
      } else if (in[i + 1] == 'O' && i + 2 < in.size()) {
        keys.push_back(csi_key({}, in[i + 2]));
        i += 3;
      } else {
        keys.push_back({K::escape});
        ++i;
      }
    } else if (c == '\r' || c == '\n') {
      keys.push_back({K::enter});
      ++i;
    } else if (c == '\x7f' || c == '\b') {
      keys.push_back({K::backspace});
      ++i;
    } else {
      keys.push_back({K::text, next_utf8(in, i)});
    }
  }
  return keys;
}

}  // namespace roam::client
