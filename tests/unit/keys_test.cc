#include "client/keys.h"

#include <doctest/doctest.h>

using roam::client::Key;
using roam::client::parse_keys;
using K = Key::Kind;

TEST_CASE("keys, sequences, wheels and UTF-8 text") {
  const auto keys = parse_keys("a\xc3\xa9\x1b[5~\x1b[6~\x1b[A\x1bOB\x1b[H\x1b[4~\r\x7f\x1b[<64;10;5M\x1b[<65;1;1M\x1b[Z\x15");
  const std::vector<Key> want = {
      {K::text, U'a'},    {K::text, U'\u00e9'}, {K::page_up},    {K::page_down}, {K::up},
      {K::down},          {K::home},           {K::end},        {K::enter},     {K::backspace},
      {K::wheel_up},      {K::wheel_down},     {K::other},      {K::text, 0x15},
  };
  CHECK(keys == want);
}

TEST_CASE("a lone ESC is the Esc key; a cut sequence and bad UTF-8 do no harm") {
  CHECK(parse_keys("\x1b") == std::vector<Key>{{K::escape}});
  CHECK(parse_keys("q\x1b[5").size() == 1);
  CHECK(parse_keys("\xff") == std::vector<Key>{{K::text, U'\ufffd'}});
  for (const Key& k : parse_keys("\xe2\x82")) CHECK(k == Key{K::text, U'\ufffd'});
}
