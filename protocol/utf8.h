// UTF-8 encoding of Unicode scalars, for everything that writes cell text.
#pragma once

#include <cstdint>
#include <string>

namespace roam {

// Whether `c` can be written to a terminal as text: not a C0 or C1 control,
// DEL, a surrogate or beyond Unicode.
inline bool printable_scalar(uint32_t c) {
  return c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0) && !(c >= 0xd800 && c < 0xe000) && c <= 0x10ffff;
}

// Writes `c` (a valid scalar) at `out`; returns the end of what it wrote.
inline char* put_utf8(char* out, uint32_t c) {
  if (c < 0x80) {
    *out++ = static_cast<char>(c);
  } else if (c < 0x800) {
    *out++ = static_cast<char>(0xc0 | c >> 6);
    *out++ = static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    *out++ = static_cast<char>(0xe0 | c >> 12);
    *out++ = static_cast<char>(0x80 | (c >> 6 & 0x3f));
    *out++ = static_cast<char>(0x80 | (c & 0x3f));
  } else {
    *out++ = static_cast<char>(0xf0 | c >> 18);
    *out++ = static_cast<char>(0x80 | (c >> 12 & 0x3f));
    *out++ = static_cast<char>(0x80 | (c >> 6 & 0x3f));
    *out++ = static_cast<char>(0x80 | (c & 0x3f));
  }
  return out;
}

// Appends `c` for a terminal: what could act as a control, or is not a
// scalar, is written as U+FFFD.
inline void append_utf8(uint32_t c, std::string& out) {
  char buf[4];
  out.append(buf, put_utf8(buf, printable_scalar(c) ? c : 0xfffd));
}

}  // namespace roam
