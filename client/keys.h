// Turns the bytes a terminal sends for keys and mouse wheels into key
// events, for the client's own screens (the pager). Sessions get raw bytes.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace roam::client {

struct Key {
  enum class Kind : uint8_t {
    text,  // `ch`, a printable character (or a control one: ch < 0x20)
    up, down, left, right, page_up, page_down, home, end,
    escape, enter, backspace,
    wheel_up, wheel_down,
    other,  // an escape sequence we do not use
  };
  Kind kind = Kind::other;
  char32_t ch = 0;
  friend bool operator==(const Key&, const Key&) = default;
};

// Parses `in` whole: an ESC with nothing after it in the same read is the
// Esc key, as terminals send a sequence in one write.
std::vector<Key> parse_keys(std::string_view in);

}  // namespace roam::client
