// A mux::Terminal that records what scrolls off and what it answers, and
// its rows as text, for the terminal unit tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mux/terminal.h"
#include "tests/unit/rows.h"

namespace roam::test {

inline std::string text(const mux::Terminal& t, int y) { return text(t.screen().row(y)); }

inline const Cell& cell(const mux::Terminal& t, int x, int y) { return t.screen().row(y).cells[x]; }

// A terminal that records what scrolls off and what it answers.
struct Term {
  mux::Terminal t;
  std::vector<std::string> scrolled;
  std::string replies;

  Term(int cols, int rows) : t(cols, rows) {
    t.on_scrollback = [this](const Row& r) { scrolled.push_back(text(r)); };
    t.on_reply = [this](std::string_view s) { replies += s; };
  }
  Term& operator<<(std::string_view bytes) {
    t.write(bytes);
    return *this;
  }
  const Screen& screen() const { return t.screen(); }
};

}  // namespace roam::test
