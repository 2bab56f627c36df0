#include "client/key_lexer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using roam::client::KeyLexer;
using roam::client::KeyToken;
using K = KeyToken::Kind;

namespace {

struct Got {
  K kind;
  char32_t ch;
  std::string params;
  friend bool operator==(const Got&, const Got&) = default;
};

std::vector<Got> lex(KeyLexer& lexer, std::string_view in, bool whole = false) {
  std::vector<Got> out;
  auto take = [&](const std::optional<KeyToken>& t) {
    if (t) out.push_back({t->kind, t->ch, std::string(t->params)});
  };
  for (char c : in) take(lexer.step(c));
  take(lexer.end_of_read(whole));
  return out;
}

}  // namespace

TEST_CASE("text, controls, CSI and SS3 sequences, Alt and Esc") {
  KeyLexer l;
  CHECK(lex(l, "a\xc3\xa9\r\x7f\x1b[1;5C\x1bOD\x1bx\x1b") ==
        std::vector<Got>{{K::text, U'a', ""}, {K::text, U'\u00e9', ""}, {K::control, U'\r', ""},
                         {K::control, 0x7f, ""}, {K::csi, U'C', "1;5"}, {K::ss3, U'D', ""},
                         {K::alt, U'x', ""}, {K::escape, 0, ""}});
}

TEST_CASE("a sequence cut between reads waits for the next, unless the read is whole") {
  KeyLexer l;
  CHECK(lex(l, "\x1b[1").empty());
  CHECK(lex(l, ";2D") == std::vector<Got>{{K::csi, U'D', "1;2"}});
  CHECK(lex(l, "\xe2\x82").empty());
  CHECK(lex(l, "\xac") == std::vector<Got>{{K::text, U'\u20ac', ""}});
  CHECK(lex(l, "\xe2\x82", true) == std::vector<Got>{{K::invalid, 0, ""}});
  CHECK(lex(l, "\x1b[5", true).empty());
  CHECK(lex(l, "q") == std::vector<Got>{{K::text, U'q', ""}});
}

TEST_CASE("bad UTF-8, C1 controls as UTF-8 and absurd parameters are invalid, never text") {
  KeyLexer l;
  CHECK(lex(l, "\xff") == std::vector<Got>{{K::invalid, 0, ""}});
  CHECK(lex(l, "\xc2\x9b") == std::vector<Got>{{K::invalid, 0, ""}});
  CHECK(lex(l, "\xed\xa0\x80") == std::vector<Got>{{K::invalid, 0, ""}});
  CHECK(lex(l, "\xc3q") == std::vector<Got>{{K::invalid, 0, ""}});
  CHECK(lex(l, "\x1b[" + std::string(100, '1') + "A") == std::vector<Got>{{K::invalid, 0, ""}});
  CHECK(lex(l, "\x1b[1\x01") == std::vector<Got>{{K::invalid, 0, ""}});
  CHECK(lex(l, "z") == std::vector<Got>{{K::text, U'z', ""}});
}
