#include "client/keys.h"

#include "client/key_lexer.h"

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

Key key(const KeyToken& t) {
  using K = Key::Kind;
  switch (t.kind) {
    case KeyToken::Kind::text: return {K::text, t.ch};
    case KeyToken::Kind::control:
      if (t.ch == '\r' || t.ch == '\n') return {K::enter};
      if (t.ch == 0x7f || t.ch == '\b') return {K::backspace};
      return {K::text, t.ch};
    case KeyToken::Kind::csi: return csi_key(t.params, static_cast<char>(t.ch));
    case KeyToken::Kind::ss3: return csi_key({}, static_cast<char>(t.ch));
    case KeyToken::Kind::escape:
    case KeyToken::Kind::alt: return {K::escape};  // alt: its key follows (parse_keys)
    case KeyToken::Kind::invalid: return {K::text, U'\ufffd'};
  }
  return {};
}

}  // namespace

std::vector<Key> parse_keys(std::string_view in) {
  KeyLexer lexer;
  std::vector<Key> keys;
  for (char c : in) {
    auto t = lexer.step(c);
    if (!t) continue;
    keys.push_back(key(*t));
    // Esc then a key in one read: both, as the user typed them.
    if (t->kind == KeyToken::Kind::alt)
      if (auto after = lexer.step(static_cast<char>(t->ch))) keys.push_back(key(*after));
  }
  if (auto t = lexer.end_of_read(true)) keys.push_back(key(*t));
  return keys;
}

}  // namespace roam::client
