// UTF-8 encoding of Unicode scalars, for everything that writes cell text,
// and decoding, for what reads typed text; the one filter for strings that
// reach a terminal as text (append_printable).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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

// How many bytes the UTF-8 sequence `lead` starts holds: 1-4, or 0 for a
// byte no sequence in shortest form starts with (a continuation byte,
// 0xc0, 0xc1, 0xf5-0xff).
inline size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xc2 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf5 ? 4 : 0;
}

// The scalar at s[i], setting `len` to its length; len 0 if the bytes there
// are not a scalar in shortest form (malformed, cut short, overlong, a
// surrogate, beyond U+10FFFF).
inline char32_t decode_utf8(std::string_view s, size_t i, size_t& len) {
  len = 0;
  if (i >= s.size()) return 0;
  const auto lead = static_cast<unsigned char>(s[i]);
  const size_t n = utf8_length(lead);
  if (n == 0 || n > s.size() - i) return 0;
  if (n == 1) {
    len = 1;
    return lead;
  }
  char32_t c = lead & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    c = c << 6 | (b & 0x3f);
  }
  static constexpr char32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < shortest[n] || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff) return 0;
  len = n;
  return c;
}

// Decodes the UTF-8 character at s[i] and moves i past it; anything that is
// not a scalar in shortest form gives U+FFFD and moves past its first byte.
inline char32_t next_utf8(std::string_view s, size_t& i) {
  size_t len = 0;
  const char32_t c = decode_utf8(s, i, len);
  if (len == 0) {
    ++i;
    return U'\ufffd';
  }
  i += len;
  return c;
}

// Appends `text` so that a terminal can only show it: decoded as UTF-8 and
// written again canonically, without any control (C0, DEL, and C1 whether
// raw bytes 0x80-0x9f, which a terminal honouring 8-bit controls obeys, or
// encoded U+0080-U+009F), a malformed byte as U+FFFD; cut before `limit`
// bytes, never inside a character. What comes out is clean: filtering it
// again gives it back (so a title's diff round-trips). Titles and icon
// names pass through it on the server, in the client's copy of the screen,
// and again as the client writes them in an OSC.
inline void append_printable(std::string_view text, std::string& out, size_t limit = std::string::npos) {
  size_t used = 0;
  for (size_t i = 0; i < text.size();) {
    const char32_t c = next_utf8(text, i);
    if (!printable_scalar(c)) continue;
    char buf[4];
    const auto n = static_cast<size_t>(put_utf8(buf, c) - buf);
    if (limit - used < n) return;
    out.append(buf, n);
    used += n;
  }
}

}  // namespace roam
