#include "client/key_lexer.h"

namespace roam::client {

std::optional<KeyToken> KeyLexer::step(char byte) {
  using K = KeyToken::Kind;
  const auto b = static_cast<unsigned char>(byte);
  switch (state_) {
    case State::ground:
      if (b == 0x1b) {
        state_ = State::esc;
        return std::nullopt;
      }
      if (b < 0x20 || b == 0x7f) return KeyToken{K::control, b, {}};
      if (b < 0x80) return KeyToken{K::text, b, {}};
      if (b >= 0xc2 && b < 0xf5) {
        utf8_left_ = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
        ch_ = b & (0x3f >> utf8_left_);
        state_ = State::utf8;
        return std::nullopt;
      }
      return KeyToken{K::invalid, 0, {}};
    case State::utf8:
      if ((b & 0xc0) != 0x80) {
        state_ = State::ground;
        return KeyToken{K::invalid, 0, {}};
      }
      ch_ = ch_ << 6 | (b & 0x3f);
      if (--utf8_left_ > 0) return std::nullopt;
      state_ = State::ground;
      // Overlong forms, surrogates and C1 controls are not characters.
      if (ch_ < 0xa0 || (ch_ >= 0xd800 && ch_ < 0xe000) || ch_ > 0x10ffff) return KeyToken{K::invalid, 0, {}};
      return KeyToken{K::text, ch_, {}};
    case State::esc:
      if (b == '[') {
        state_ = State::csi;
        params_.clear();
        return std::nullopt;
      }
      if (b == 'O') {
        state_ = State::ss3;
        return std::nullopt;
      }
      state_ = State::ground;
      return KeyToken{K::alt, b, {}};
    case State::csi:
      if (b >= 0x20 && b < 0x40) {
        if (params_.size() < max_params) params_ += static_cast<char>(b);
        return std::nullopt;
      }
      state_ = State::ground;
      if (b < 0x40 || b > 0x7e || params_.size() >= max_params) return KeyToken{K::invalid, 0, {}};
      return KeyToken{K::csi, b, params_};
    case State::ss3:
      state_ = State::ground;
      return KeyToken{K::ss3, b, {}};
  }
  return std::nullopt;
}

std::optional<KeyToken> KeyLexer::end_of_read(bool whole) {
  using K = KeyToken::Kind;
  if (state_ == State::esc) {
    state_ = State::ground;
    return KeyToken{K::escape, 0, {}};
  }
  if (!whole || state_ == State::ground) return std::nullopt;
  const State cut = state_;
  state_ = State::ground;
  if (cut == State::utf8) return KeyToken{K::invalid, 0, {}};
  return std::nullopt;
}

}  // namespace roam::client
