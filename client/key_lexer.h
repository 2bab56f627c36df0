// What a terminal sends for keys, cut into tokens: the one lexer behind the
// pager's keys (keys.cc) and the predictor's (prediction.cc). Bytes go in
// one at a time; a token comes out when one is complete.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roam::client {

struct KeyToken {
  enum class Kind : uint8_t {
    text,          // ch: a character, from ASCII or UTF-8 (never a control)
    control,       // ch: a C0 control byte or DEL
    csi,           // ESC [ params final: ch is the final byte
    ss3,           // ESC O final: ch is the final byte
    escape,        // ESC with nothing after it in the same read: the Esc key
    alt,           // ESC and another byte (ch): Alt and a key
    invalid,       // bytes that are none of these (bad or cut UTF-8)
  };
  Kind kind = Kind::invalid;
  char32_t ch = 0;
  std::string_view params;  // csi: the parameter and intermediate bytes, valid until the next call
};

class KeyLexer {
 public:
  // The token `byte` completes, if any.
  std::optional<KeyToken> step(char byte);
  // At the end of a read: an ESC alone is the Esc key, as terminals send a
  // sequence in one write. With `whole`, a cut UTF-8 character is invalid
  // and a cut CSI is dropped; without, they wait for the next read.
  std::optional<KeyToken> end_of_read(bool whole);

 private:
  static constexpr size_t max_params = 64;  // longer is not a key: dropped
  enum class State : uint8_t { ground, esc, csi, ss3, utf8 };
  State state_ = State::ground;
  char32_t ch_ = 0;
  int utf8_left_ = 0;
  std::string params_;
};

}  // namespace roam::client
