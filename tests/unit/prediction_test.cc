#include "client/prediction.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using roam::attr_underline_mask;
using roam::Cell;
using roam::Cursor;
using roam::Modes;
using roam::Pen;
using roam::Screen;
using roam::client::Overlay;
using roam::client::PredictMode;
using roam::client::Predictor;

namespace {

// The server's side, scripted: a screen the test writes, and the user
// events the client numbered.
struct Session {
  Predictor p;
  Screen frame{80, 24};
  uint64_t sent = 0;  // user events so far
  uint64_t now = 1000;
  double srtt = 300;

  explicit Session(PredictMode mode = PredictMode::always, bool trust_prompts = true) : p(mode, trust_prompts) {
    show("$ ", 0);
    server(0);
  }

  // The server's screen: `text` on row y, the cursor after it (or at x).
  void show(std::string_view text, int y, int x = -1) {
    for (int i = 0; i < frame.cols(); ++i) {
      const uint32_t ch[2] = {i < static_cast<int>(text.size()) ? static_cast<uint32_t>(text[i]) : ' ', 0};
      frame.put(i, y, ch, 1, Pen{});
    }
    Cursor c = frame.cursor();
    c.x = x >= 0 ? x : static_cast<int>(text.size());
    c.y = y;
    frame.set_cursor(c);
  }
  // A frame arrives saying the events up to `echoed` reached the program.
  void server(uint64_t echoed, uint64_t after_ms = 10) {
    now += after_ms;
    p.update(frame, echoed, srtt, now);
  }
  void type(std::string_view keys, uint64_t after_ms = 150) {
    now += after_ms;
    p.keys(keys, ++sent, frame, now);
  }

  const Overlay& overlay() const { return p.overlay(); }
  // The predicted character at (x, y), or 0 when the overlay has none.
  uint32_t shown_at(int x, int y) const {
    for (const Overlay::Patch& c : overlay().cells)
      if (c.x == x && c.y == y) return c.cell.ch;
    return 0;
  }
  bool underlined_at(int x, int y) const {
    for (const Overlay::Patch& c : overlay().cells)
      if (c.x == x && c.y == y) return (c.cell.attrs & attr_underline_mask) != 0;
    return false;
  }
  // What a person sees on row y: the frame with the overlay on top.
  std::string seen(int y) const {
    std::string s;
    for (int x = 0; x < frame.cols(); ++x) {
      uint32_t ch = shown_at(x, y);
      if (ch == 0) ch = frame.row(y).cells[x].ch;
      s += ch == 0 ? ' ' : static_cast<char>(ch);
    }
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
  }

  // Types "ab" at the prompt and lets the server echo it, so the epoch is
  // confirmed and later guesses show at once.
  void confirm_first() {
    type("a");
    CHECK(overlay().empty());  // the first epoch is tentative
    show("$ a", 0);
    server(sent);
    type("b");
    REQUIRE(shown_at(3, 0) == 'b');
    show("$ ab", 0);
    server(sent);
    REQUIRE(overlay().empty());
  }
};

}  // namespace

TEST_CASE("a guess appears at once, stays underlined until confirmed, then the frame shows it") {
  Session s;
  s.confirm_first();
  s.type("c");
  CHECK(s.seen(0) == "$ abc");
  CHECK(s.underlined_at(4, 0));
  CHECK(s.overlay().has_cursor);
  CHECK(s.overlay().cursor_x == 5);
  // The echo arrives before its acknowledgement: still a guess, still underlined.
  s.show("$ abc", 0);
  s.server(s.sent - 1);
  CHECK(s.underlined_at(4, 0));
  s.server(s.sent);
  CHECK(s.overlay().empty());
  CHECK(s.p.confirmed() == 3);  // a, b, c
  CHECK(s.p.mispredictions() == 0);
}

TEST_CASE("a wrong shown guess is removed as soon as the server's frame contradicts it") {
  Session s;
  s.confirm_first();
  s.type("c");
  s.type("d");
  CHECK(s.seen(0) == "$ abcd");
  s.show("$ abXY", 0);
  s.server(s.sent - 1);  // 'c' is decided: wrong
  CHECK(s.overlay().empty());
  CHECK(s.seen(0) == "$ abXY");
  CHECK(s.p.mispredictions() == 1);
  // Backing off: the next guess waits for a confirmation again.
  s.type("e");
  CHECK(s.overlay().empty());
  s.show("$ abXYe", 0);
  s.server(s.sent);
  s.type("f");
  CHECK(s.shown_at(7, 0) == 'f');
}

TEST_CASE("after a key it cannot predict the guesses stay hidden until one is confirmed") {
  Session s;
  s.confirm_first();
  s.type("\x01");  // Ctrl-A: the cursor goes somewhere the engine does not know
  s.type("x");
  s.type("y");
  CHECK(s.overlay().empty());
  // The server put them at the start of the line: the guesses were wrong
  // but never shown, so no misprediction, and the epoch is dropped.
  s.show("$ xyab", 0, 4);
  s.server(s.sent);
  CHECK(s.overlay().empty());
  CHECK(s.p.mispredictions() == 0);
  s.type("z");
  CHECK(s.overlay().empty());  // still tentative
  s.show("$ xyzab", 0, 5);
  s.server(s.sent);
  s.type("w");
  CHECK(s.seen(0) == "$ xyzwab");  // inserted, the rest shifted right
}

TEST_CASE("an escape sequence, the last column, a wide character and a paste make guesses tentative") {
  const auto tentative_after = [](std::string_view keys, int cursor_x) {
    Session s;
    s.confirm_first();
    if (cursor_x >= 0) {
      s.show("$ ab", 0, cursor_x);
      s.server(s.sent);
    }
    s.type(keys);
    s.type("q");
    return s.overlay().cells.empty();
  };
  CHECK(tentative_after("\x1b[A", -1));   // up: history recall
  CHECK(tentative_after("\x1bOH", -1));   // home
  CHECK(tentative_after("\x1b", -1));     // a lone Escape
  CHECK(tentative_after("\xe4\xb8\xad", -1));  // a CJK character, two columns
  CHECK(tentative_after(std::string(200, 'p'), -1));
  CHECK(tentative_after("x", 79));        // typed into the last column
  CHECK(!tentative_after("x", -1));       // the control case: shown
}

TEST_CASE("backspace and the arrows move the predicted cursor and shift the row") {
  Session s;
  s.confirm_first();
  s.type("\x1b[D");  // left
  CHECK(s.overlay().cursor_x == 3);
  s.type("X");
  CHECK(s.seen(0) == "$ aXb");
  s.type("\x1bOC");  // right, application mode
  CHECK(s.overlay().cursor_x == 5);
  s.type("\x1b[C");  // past the end of the text: a line editor stays
  CHECK(s.overlay().cursor_x == 5);
  s.type("\x7f");
  CHECK(s.seen(0) == "$ aX");
  CHECK(s.overlay().cursor_x == 4);
  s.type("\x7f\x7f");
  CHECK(s.seen(0) == "$");
  s.type("\x7f");  // into the prompt: the shell refuses, and so do we
  CHECK(s.seen(0) == "$");
  CHECK(s.overlay().cursor_x == 2);
  s.show("$", 0, 2);
  s.server(s.sent);
  CHECK(s.overlay().empty());
  CHECK(s.p.mispredictions() == 0);
}

TEST_CASE("no guess is shown at a password prompt that does not echo") {
  Session s;
  s.confirm_first();
  s.type("\r");  // runs `read -s`, say
  s.show("$ ab", 0);
  s.show("Password: ", 1);
  s.server(s.sent);
  for (char c : std::string_view("secret")) {
    s.type(std::string(1, c));
    CHECK(s.overlay().cells.empty());
    s.server(s.sent);  // acknowledged, nothing echoed
    CHECK(s.overlay().cells.empty());
  }
  CHECK(s.p.mispredictions() == 0);
}

TEST_CASE("the underline follows the round-trip time, with hysteresis") {
  Session s;
  s.confirm_first();
  const auto guess_underlined = [&](double srtt) {
    s.srtt = srtt;
    s.server(s.sent);
    s.type("u");
    REQUIRE(!s.overlay().cells.empty());
    const bool u = s.underlined_at(s.overlay().cells.front().x, 0);
    s.show(s.seen(0), 0);
    s.server(s.sent);
    return u;
  };
  CHECK(guess_underlined(300));
  CHECK(guess_underlined(120));  // between the thresholds: stays on
  CHECK(!guess_underlined(90));
  CHECK(!guess_underlined(150));  // stays off
  CHECK(guess_underlined(170));
  CHECK(!guess_underlined(1));
}

TEST_CASE("adaptive shows guesses on a slow link, or once an echo is late") {
  Session s(PredictMode::adaptive);
  s.srtt = 10;
  s.server(0);
  s.type("a");
  s.show("$ a", 0);
  s.server(s.sent);  // confirmed within 10 ms
  s.type("b");
  CHECK(s.overlay().empty());  // a fast link and no late echo: local echo off
  REQUIRE(s.p.next_check());
  s.now = *s.p.next_check();
  s.server(s.sent - 1, 0);  // 250 ms and still no echo
  CHECK(s.shown_at(3, 0) == 'b');
  CHECK(!s.underlined_at(3, 0));

  Session slow(PredictMode::adaptive);
  slow.srtt = 80;
  slow.confirm_first();
  slow.type("c");
  CHECK(slow.shown_at(4, 0) == 'c');

  Session never(PredictMode::never);
  never.type("a");
  never.show("$ a", 0);
  never.server(never.sent);
  never.type("b");
  CHECK(never.overlay().empty());
}

TEST_CASE("beyond mosh: the first keys at a known shell prompt show at once") {
  const auto first_key_shown = [](bool trust, std::string_view next_prompt, bool alternate = false) {
    Session s(PredictMode::always, trust);
    s.confirm_first();
    s.type("\r");
    s.show("$ ab", 0);
    s.show("output", 1);
    s.show(next_prompt, 2);
    if (alternate) {
      Modes m = s.frame.modes();
      m.alternate_screen = true;
      s.frame.set_modes(m);
      s.show(next_prompt, 2);
    }
    s.server(s.sent);
    s.type("l");
    return s.shown_at(static_cast<int>(next_prompt.size()), 2) == 'l';
  };
  CHECK(first_key_shown(true, "$ "));
  CHECK(first_key_shown(true, "~/src $ "));  // another prompt with the same sigil
  CHECK(!first_key_shown(false, "$ "));      // as mosh: wait for the echo
  CHECK(!first_key_shown(true, "Password: "));
  CHECK(!first_key_shown(true, "# "));  // never confirmed at a "#" prompt
  CHECK(!first_key_shown(true, "$ ", true));  // full-screen programs are not shells

  // Right after Return, before its echo acknowledgement: the new prompt
  // on the next row shows that the shell read the line.
  Session s;
  s.confirm_first();
  s.type("\r");
  s.show("$ ", 1);
  s.server(s.sent - 1);
  s.type("l");
  CHECK(s.shown_at(2, 1) == 'l');

  // A prompt is learned even when its epoch is confirmed after the next began.
  Session v;
  v.type("ls\r");
  v.show("$ ls", 0);
  v.show("$ ", 1);
  v.server(v.sent - 1);  // the new prompt, before the echo acknowledgement
  v.type("x");
  CHECK(v.overlay().cells.empty());  // nothing learned yet
  v.show("$ x", 1);
  v.server(v.sent);  // confirms "ls" at the first prompt, and "x"
  v.type("\r");
  v.show("$ ", 2);
  v.server(v.sent - 1);
  v.type("y");
  CHECK(v.shown_at(2, 2) == 'y');

  // Not while the old line is still there, nor with keys typed after Return.
  Session t;
  t.confirm_first();
  t.type("\r");
  t.server(t.sent - 1);
  t.type("l");
  CHECK(t.overlay().cells.empty());
  Session u;
  u.confirm_first();
  u.type("\r");
  u.type("x");
  u.show("$ ", 1);
  u.server(u.sent - 2);
  u.type("l");
  CHECK(u.overlay().cells.empty());
}
