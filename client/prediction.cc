#include "client/prediction.h"

#include <algorithm>

// The rules, mostly mosh's (src/frontend/terminaloverlay.cc):
//
// - A printable key inserts its character at the predicted cursor and shifts
//   the rest of the row right; the last cell's content becomes unknown.
//   Backspace moves left and shifts the rest left. Arrows move the cursor.
//   Return predicts the cursor at the start of the next row, tentatively.
// - A guess is judged once echo_ack covers its key: right if the frame shows
//   its character there (no credit when the cell held that character before,
//   or the guess is a blank, which is too easy to match by chance), wrong
//   otherwise. A right guess confirms its epoch; a wrong hidden one kills its
//   epoch and everything after; a wrong shown one resets the engine.
// - Adaptive display: on when SRTT exceeds 60 ms (off again below 40 ms when
//   nothing is pending), or while the glitch counter is up: a guess pending
//   250 ms sets it to 10, one pending 5 s to 20 (which also underlines), and
//   quick confirmations (at most one per 150 ms) count it down. Underline
//   above 160 ms SRTT, off below 100 ms.
//
// Refinements of ours: backspace and left arrow stop at the end of a known
// prompt, and right arrow past the end of the text predicts no move, as
// line editors do there; mosh predicts a move and mispredicts. A key typed
// at a recognised prompt with everything echoed starts a trusted epoch.

namespace roam::client {

namespace {

constexpr size_t paste_bytes = 100;  // more in one read: a paste, not typing
constexpr double srtt_show_above = 60, srtt_hide_below = 40;
constexpr double srtt_flag_above = 160, srtt_unflag_below = 100;
constexpr uint64_t glitch_ms = 250, glitch_flag_ms = 5000, glitch_repair_interval_ms = 150;
constexpr int glitch_repair_count = 10;
constexpr std::string_view prompt_sigils = "$#>%";

bool blank(uint32_t ch) { return ch == 0 || ch == ' '; }

// Characters certainly one column wide and not combining: ASCII and the
// Latin blocks. Anything else may be wide or zero-width; not guessed.
bool predictable(uint32_t ch) { return (ch >= 0x20 && ch < 0x7f) || (ch >= 0xa0 && ch < 0x300); }

uint16_t underlined(uint16_t attrs) {
  return static_cast<uint16_t>((attrs & ~attr_underline_mask) | (1u << attr_underline_shift));
}

}  // namespace

std::optional<PredictMode> parse_predict_mode(std::string_view text) {
  if (text == "adaptive") return PredictMode::adaptive;
  if (text == "always") return PredictMode::always;
  if (text == "never") return PredictMode::never;
  return std::nullopt;
}

void Predictor::Guess::renew(uint64_t epoch_, uint64_t expires_, uint64_t now) {
  active = true;
  unknown = false;
  epoch = epoch_;
  expires = expires_;
  made_at = now;
}

void Predictor::Guess::add_original(uint32_t ch) {
  if (std::find(originals, originals + n_originals, ch) != originals + n_originals) return;
  if (n_originals == max_originals)
    many_originals = true;
  else
    originals[n_originals++] = ch;
}

Predictor::Predictor(PredictMode mode, bool trust_prompts) : mode_(mode), trust_prompts_(trust_prompts) {}

bool Predictor::showing() const {
  switch (mode_) {
    case PredictMode::always: return true;
    case PredictMode::never: return false;
    case PredictMode::adaptive: return srtt_trigger_ || glitch_trigger_ > 0;
  }
  return false;
}

void Predictor::reset() {
  rows_.clear();
  cursors_.clear();
  become_tentative();
}

Predictor::GuessRow& Predictor::row(int y, int cols) {
  auto it = std::lower_bound(rows_.begin(), rows_.end(), y, [](const GuessRow& r, int v) { return r.y < v; });
  if (it == rows_.end() || it->y != y) {
    it = rows_.insert(it, GuessRow{y, {}});
    it->cells.resize(static_cast<size_t>(cols));
  }
  return *it;
}

const Predictor::Guess* Predictor::guess_at(int x, int y) const {
  for (const GuessRow& r : rows_)
    if (r.y == y && x >= 0 && x < static_cast<int>(r.cells.size()) && r.cells[x].active) return &r.cells[x];
  return nullptr;
}

Predictor::CursorGuess& Predictor::cursor(const Screen& frame, uint64_t now) {
  if (cursors_.empty())
    cursors_.push_back({frame.cursor().x, frame.cursor().y, epoch_, number_, now});
  else if (cursors_.back().epoch != epoch_)
    cursors_.push_back({cursors_.back().x, cursors_.back().y, epoch_, number_, now});
  return cursors_.back();
}

void Predictor::kill_epoch(uint64_t epoch, const Screen& frame, uint64_t now) {
  std::erase_if(cursors_, [&](const CursorGuess& c) { return c.epoch >= epoch; });
  cursors_.push_back({frame.cursor().x, frame.cursor().y, epoch_, number_, now});
  for (GuessRow& r : rows_)
    for (Guess& g : r.cells)
      if (g.active && g.epoch >= epoch) g.active = false;
  become_tentative();
}

Predictor::Validity Predictor::judge(const Guess& g, const Screen& frame, int x, int y) const {
  if (y >= frame.rows() || x >= frame.cols()) return Validity::wrong;
  if (echo_ack_ < g.expires) return Validity::pending;
  if (g.unknown || blank(g.replacement.ch)) return Validity::no_credit;
  const uint32_t actual = frame.row(y).cells[x].ch;
  if (actual != g.replacement.ch) return Validity::wrong;
  const bool was_there = g.many_originals || std::find(g.originals, g.originals + g.n_originals, actual) !=
                                                 g.originals + g.n_originals;
  return was_there ? Validity::no_credit : Validity::correct;
}

void Predictor::cull(const Screen& frame, uint64_t now) {
  if (frame.cols() != cols_ || frame.rows() != rows_n_) {
    cols_ = frame.cols();
    rows_n_ = frame.rows();
    reset();
  }
  for (GuessRow& r : rows_) {
    for (int x = 0; x < static_cast<int>(r.cells.size()); ++x) {
      Guess& g = r.cells[x];
      if (!g.active) continue;
      switch (judge(g, frame, x, r.y)) {
        case Validity::wrong:
          if (!shown(g.epoch) || !showing()) {
            kill_epoch(g.epoch, frame, now);
            break;
          }
          ++mispredictions_;
          backing_off_ = true;
          reset();
          return;
        case Validity::correct:
          if (g.epoch > confirmed_epoch_) {
            for (const PromptEpoch& e : prompt_epochs_)
              if (e.epoch == g.epoch &&
                  std::find(prompt_sigils_.begin(), prompt_sigils_.end(), e.sigil) == prompt_sigils_.end())
                prompt_sigils_.push_back(e.sigil);
            confirmed_epoch_ = g.epoch;
            backing_off_ = false;
          }
          if (now - g.made_at < glitch_ms && glitch_trigger_ > 0 &&
              now >= last_quick_confirmation_ + glitch_repair_interval_ms) {
            --glitch_trigger_;
            last_quick_confirmation_ = now;
          }
          // The rest of the row takes the pen the program really used.
          for (int k = x + 1; k < static_cast<int>(r.cells.size()); ++k)
            r.cells[k].replacement.set_pen(frame.row(r.y).cells[x].pen());
          ++confirmed_count_;
          g.active = false;
          break;
        case Validity::no_credit: g.active = false; break;
        case Validity::pending:
          if (now - g.made_at >= glitch_flag_ms)
            glitch_trigger_ = 2 * glitch_repair_count;
          else if (now - g.made_at >= glitch_ms && glitch_trigger_ < glitch_repair_count)
            glitch_trigger_ = glitch_repair_count;
          break;
      }
    }
  }
  if (!cursors_.empty()) {
    const CursorGuess& c = cursors_.back();
    const bool due = echo_ack_ >= c.expires;
    if (due && (c.x != frame.cursor().x || c.y != frame.cursor().y)) {
      if (shown(c.epoch) && showing()) {
        ++mispredictions_;
        backing_off_ = true;
      }
      reset();
      return;
    }
  }
  std::erase_if(cursors_, [&](const CursorGuess& c) { return echo_ack_ >= c.expires; });
  std::erase_if(rows_, [](const GuessRow& r) {
    return std::none_of(r.cells.begin(), r.cells.end(), [](const Guess& g) { return g.active; });
  });
}

void Predictor::update(const Screen& frame, uint64_t echo_ack, double srtt_ms, uint64_t now) {
  if (mode_ == PredictMode::never) return;
  echo_ack_ = echo_ack;
  if (srtt_ms > srtt_show_above)
    srtt_trigger_ = true;
  else if (srtt_trigger_ && srtt_ms <= srtt_hide_below && rows_.empty())
    srtt_trigger_ = false;
  if (srtt_ms > srtt_flag_above)
    flagging_ = true;
  else if (srtt_ms <= srtt_unflag_below)
    flagging_ = false;
  cull(frame, now);
  if (glitch_trigger_ > glitch_repair_count) flagging_ = true;
  last_update_ = now;
  build_overlay(frame);
}

std::optional<uint64_t> Predictor::next_check() const {
  std::optional<uint64_t> next;
  const auto consider = [&](uint64_t t) {
    if (t > last_update_ && (!next || t < *next)) next = t;
  };
  for (const GuessRow& r : rows_)
    for (const Guess& g : r.cells) {
      if (!g.active) continue;
      if (glitch_trigger_ < glitch_repair_count) consider(g.made_at + glitch_ms);
      if (glitch_trigger_ < 2 * glitch_repair_count) consider(g.made_at + glitch_flag_ms);
    }
  return next;
}

// "$ " or "# " (a sigil and a space) just left of the cursor, nothing right
// of it, on the primary screen: what a shell prompt waiting for a command
// looks like. Returns the sigil, or 0.
static uint32_t prompt_sigil_at_cursor(const Screen& frame) {
  const Cursor& c = frame.cursor();
  if (frame.modes().alternate_screen || c.x < 2 || c.x >= frame.cols() || c.y >= frame.rows()) return 0;
  const Row& r = frame.row(c.y);
  if (r.cells[c.x - 1].ch != ' ' || prompt_sigils.find(static_cast<char>(r.cells[c.x - 2].ch)) == std::string_view::npos ||
      r.cells[c.x - 2].ch >= 0x80)
    return 0;
  for (int x = c.x; x < frame.cols(); ++x)
    if (!blank(r.cells[x].ch)) return 0;
  return r.cells[c.x - 2].ch;
}

void Predictor::note_epoch_start(const Screen& frame) {
  if (started_epoch_ == epoch_) return;
  started_epoch_ = epoch_;
  const bool echoed = echo_ack_ >= sent_;
  const bool after_return = sent_ == return_number_ && frame.cursor().y != return_y_;
  // Guesses still pending were made before the Return, on the old line.
  if (!after_return && (!rows_.empty() || !cursors_.empty())) return;
  const uint32_t sigil = prompt_sigil_at_cursor(frame);
  if (sigil == 0) return;
  prompt_epochs_[next_prompt_epoch_++ % prompt_epochs_.size()] = {epoch_, sigil};
  prompt_x_ = frame.cursor().x;
  prompt_y_ = frame.cursor().y;
  // Everything typed so far is on the screen and the shell waits at a
  // prompt where echo was confirmed before: its line editor will echo.
  if (trust_prompts_ && !backing_off_ && epoch_ > confirmed_epoch_ && (echoed || after_return) &&
      std::find(prompt_sigils_.begin(), prompt_sigils_.end(), sigil) != prompt_sigils_.end()) {
    confirmed_epoch_ = epoch_;
    cursors_.clear();  // Return's guess: the frame shows where the cursor went
  }
}

bool Predictor::at_prompt_start(const CursorGuess& c) const { return c.y == prompt_y_ && c.x <= prompt_x_; }

void Predictor::on_print(uint32_t ch, const Screen& frame, uint64_t now) {
  if (!predictable(ch)) {
    become_tentative();
    return;
  }
  note_epoch_start(frame);
  CursorGuess& c = cursor(frame, now);
  if (c.y >= frame.rows() || c.x >= frame.cols()) return;
  const int cols = frame.cols();
  const Row& actual = frame.row(c.y);
  // Wide characters right of the cursor move by other rules; the last
  // column may wrap or not, depending on the program.
  bool sure = c.x + 1 < cols;
  for (int x = c.x; x < cols && sure; ++x) sure = actual.cells[x].width == 1 && actual.cells[x].ch != Cell::wide_tail;
  if (!sure) become_tentative();
  GuessRow& r = row(c.y, cols);
  for (int x = cols - 1; x > c.x; --x) {
    Guess& g = r.cells[x];
    const Guess& prev = r.cells[x - 1];
    g.renew(epoch_, number_, now);
    g.add_original(actual.cells[x].ch);
    if (x == cols - 1 || (prev.active && prev.unknown)) {
      g.unknown = true;
    } else {
      g.replacement = prev.active ? prev.replacement : actual.cells[x - 1];
    }
  }
  Guess& g = r.cells[c.x];
  // The pen of the character to the left, as typed text usually continues it.
  Pen pen = actual.cells[c.x].pen();
  if (c.x > 0) {
    const Guess& left = r.cells[c.x - 1];
    pen = left.active && !left.unknown ? left.replacement.pen() : actual.cells[c.x - 1].pen();
  }
  g.renew(epoch_, number_, now);
  g.add_original(actual.cells[c.x].ch);
  g.replacement = Cell{ch, pen.fg, pen.bg, pen.attrs, 1, pen.ul};
  c.expires = number_;
  if (c.x + 1 < cols) {
    ++c.x;
  } else {
    become_tentative();
    on_return(frame, now);
  }
}

void Predictor::on_backspace(const Screen& frame, uint64_t now) {
  note_epoch_start(frame);
  CursorGuess& c = cursor(frame, now);
  if (c.y >= frame.rows() || c.x >= frame.cols()) return;
  c.expires = number_;
  if (c.x == 0 || at_prompt_start(c)) return;  // the line editor will not move
  --c.x;
  const int cols = frame.cols();
  const Row& actual = frame.row(c.y);
  GuessRow& r = row(c.y, cols);
  for (int x = c.x; x < cols; ++x) {
    Guess& g = r.cells[x];
    g.renew(epoch_, number_, now);
    g.add_original(actual.cells[x].ch);
    if (x + 1 >= cols) {
      g.unknown = true;
      continue;
    }
    const Guess& next = r.cells[x + 1];
    if (next.active && next.unknown)
      g.unknown = true;
    else
      g.replacement = next.active ? next.replacement : actual.cells[x + 1];
  }
}

void Predictor::on_arrow(int dx, const Screen& frame, uint64_t now) {
  note_epoch_start(frame);
  CursorGuess& c = cursor(frame, now);
  if (c.y >= frame.rows() || c.x >= frame.cols()) return;
  c.expires = number_;
  if (dx < 0) {
    if (c.x > 0 && !at_prompt_start(c)) --c.x;
    return;
  }
  // Past the end of the text a line editor does not move.
  const Row& actual = frame.row(c.y);
  bool text_ahead = false;
  for (int x = c.x; x < frame.cols() && !text_ahead; ++x) {
    const Guess* g = guess_at(x, c.y);
    text_ahead = g && !g->unknown ? !blank(g->replacement.ch) : !blank(actual.cells[x].ch);
  }
  if (text_ahead && c.x + 1 < frame.cols()) ++c.x;
}

void Predictor::on_return(const Screen& frame, uint64_t now) {
  become_tentative();
  CursorGuess& c = cursor(frame, now);
  return_number_ = number_;
  return_y_ = c.y;
  c.expires = number_;
  c.x = 0;
  if (c.y + 1 < frame.rows()) ++c.y;
  prompt_y_ = -1;
}

void Predictor::keys(std::string_view bytes, uint64_t number, const Screen& frame, uint64_t now) {
  if (mode_ == PredictMode::never || bytes.empty()) return;
  number_ = number;
  cull(frame, now);
  if (bytes.size() > paste_bytes) {
    reset();
    lexer_ = KeyLexer();
  } else {
    for (char byte : bytes)
      if (auto t = lexer_.step(byte)) on_key(*t, frame, now);
    // A lone Escape (vim's): nothing follows it in the same read.
    if (auto t = lexer_.end_of_read(false)) on_key(*t, frame, now);
  }
  sent_ = number;
  last_update_ = now;
  build_overlay(frame);
}

// What one key does to the guesses: printable text, Backspace, Return and
// the plain Left and Right arrows are predicted; anything else may do
// anything, so the guesses become tentative.
void Predictor::on_key(const KeyToken& t, const Screen& frame, uint64_t now) {
  using K = KeyToken::Kind;
  if (t.kind == K::text) return on_print(t.ch, frame, now);
  if (t.kind == K::control && t.ch == 0x7f) return on_backspace(frame, now);
  if (t.kind == K::control && t.ch == '\r') return on_return(frame, now);
  const bool arrow = (t.kind == K::csi && t.params.empty()) || t.kind == K::ss3;
  if (arrow && (t.ch == 'C' || t.ch == 'D')) return on_arrow(t.ch == 'C' ? 1 : -1, frame, now);
  become_tentative();
}

void Predictor::build_overlay(const Screen& frame) {
  overlay_.cells.clear();
  overlay_.has_cursor = false;
  if (!showing()) return;
  for (const GuessRow& r : rows_) {
    if (r.y >= frame.rows()) break;
    const Row& actual = frame.row(r.y);
    const int n = std::min(static_cast<int>(r.cells.size()), frame.cols());
    for (int x = 0; x < n; ++x) {
      const Guess& g = r.cells[x];
      if (!g.active || g.unknown || !shown(g.epoch)) continue;
      const Cell& under = actual.cells[x];
      if (under.width != 1 || under.ch == Cell::wide_tail) continue;
      Cell cell = g.replacement;
      if (flagging_ && !(blank(cell.ch) && blank(under.ch))) cell.attrs = underlined(cell.attrs);
      if (cell == under) continue;
      overlay_.cells.push_back({x, r.y, cell});
    }
  }
  if (!cursors_.empty() && shown(cursors_.back().epoch)) {
    const CursorGuess& c = cursors_.back();
    overlay_.has_cursor = true;
    overlay_.cursor_x = std::min(c.x, frame.cols() - 1);
    overlay_.cursor_y = std::min(c.y, frame.rows() - 1);
  }
}

}  // namespace roam::client
