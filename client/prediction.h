// Predictive local echo, after mosh's prediction engine: the client guesses
// what a keystroke will do to the screen (a printable character inserted at
// the cursor, backspace, left and right arrows) and shows the guess at once,
// as an overlay that Display draws over the server's frame.
//
// Every guess waits for the server's echo acknowledgement (HostState::
// echo_ack): once the server says the keystroke reached the program ~50 ms
// ago, its frame must show the guess, or the guess was wrong. Guesses come in
// epochs: anything the engine cannot predict (control keys, escape
// sequences, the last column, wide characters, a paste) starts a new,
// tentative epoch, whose guesses stay hidden until one of them is confirmed.
// So a password prompt or a program that does not echo never shows wrong
// text; a wrong guess that was shown is removed at once and everything
// predicted since goes back to tentative.
//
// Beyond mosh: a keystroke typed when the server has caught up with all
// input and its cursor waits at the end of a shell prompt like one where
// echo was confirmed before (same sigil, primary screen) starts a trusted
// epoch, so the first keys of each command show at once too. "Caught up"
// is the echo acknowledgement of every key, or, right after a Return, the
// new prompt on another row than the one Return was typed on: a shell
// prints its prompt only once it has read the line.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "client/key_lexer.h"
#include "protocol/screen.h"

namespace roam::client {

enum class PredictMode : uint8_t {
  adaptive,  // show on slow links (SRTT above ~60 ms) or after a late echo
  always,
  never,
};
std::optional<PredictMode> parse_predict_mode(std::string_view text);

// Cells and a cursor position drawn over a frame; nothing else changes.
struct Overlay {
  struct Patch {
    int x = 0, y = 0;
    Cell cell;
  };
  std::vector<Patch> cells;  // sorted by row, then column
  bool has_cursor = false;
  int cursor_x = 0, cursor_y = 0;
  bool empty() const { return cells.empty() && !has_cursor; }
};

class Predictor {
 public:
  explicit Predictor(PredictMode mode = PredictMode::adaptive, bool trust_prompts = true);

  // Keys the user typed, sent as the user event numbered `number` (the
  // transport's UserState end() after pushing them); `frame` is the newest
  // server frame.
  void keys(std::string_view bytes, uint64_t number, const Screen& frame, uint64_t now);

  // Checks the guesses against a new server frame (or the clock): confirms,
  // removes and times them. `srtt_ms` is the smoothed round-trip time, 0
  // when there is no sample yet.
  void update(const Screen& frame, uint64_t echo_ack, double srtt_ms, uint64_t now);

  // What to draw now over the frame last given to update().
  const Overlay& overlay() const { return overlay_; }
  // When update() should run again though nothing arrives (a guess becomes
  // late, which turns on display in adaptive mode).
  std::optional<uint64_t> next_check() const;

  // Guesses that were shown and then contradicted by the server's frame.
  uint64_t mispredictions() const { return mispredictions_; }
  // Guesses confirmed by the server (each at most once).
  uint64_t confirmed() const { return confirmed_count_; }

 private:
  struct Guess {
    bool active = false;
    bool unknown = false;  // the content is not known: only held in place
    uint64_t epoch = 0;    // shown once confirmed_epoch_ reaches it
    uint64_t expires = 0;  // the user event whose echo decides it
    uint64_t made_at = 0;
    Cell replacement;
    // Contents the cell had before; matching one of them proves nothing.
    static constexpr int max_originals = 4;
    uint32_t originals[max_originals] = {};
    int n_originals = 0;
    bool many_originals = false;
    void renew(uint64_t epoch_, uint64_t expires_, uint64_t now);
    void add_original(uint32_t ch);
  };
  struct GuessRow {
    int y = 0;
    std::vector<Guess> cells;
  };
  struct CursorGuess {
    int x = 0, y = 0;
    uint64_t epoch = 0, expires = 0, made_at = 0;
  };
  enum class Validity { pending, correct, no_credit, wrong };

  Validity judge(const Guess& g, const Screen& frame, int x, int y) const;
  void cull(const Screen& frame, uint64_t now);
  void build_overlay(const Screen& frame);
  void reset();
  void become_tentative() { ++epoch_; }
  void kill_epoch(uint64_t epoch, const Screen& frame, uint64_t now);
  CursorGuess& cursor(const Screen& frame, uint64_t now);
  GuessRow& row(int y, int cols);
  const Guess* guess_at(int x, int y) const;
  bool shown(uint64_t epoch) const { return epoch <= confirmed_epoch_; }
  bool showing() const;

  void on_key(const KeyToken& t, const Screen& frame, uint64_t now);
  void on_print(uint32_t ch, const Screen& frame, uint64_t now);
  void on_backspace(const Screen& frame, uint64_t now);
  void on_arrow(int dx, const Screen& frame, uint64_t now);
  void on_return(const Screen& frame, uint64_t now);
  bool at_prompt_start(const CursorGuess& c) const;
  void note_epoch_start(const Screen& frame);

  PredictMode mode_;
  bool trust_prompts_;
  std::vector<GuessRow> rows_;
  std::vector<CursorGuess> cursors_;  // back(): where the cursor is predicted
  uint64_t epoch_ = 1, confirmed_epoch_ = 0;
  uint64_t number_ = 0;    // the user event the current keys belong to
  uint64_t sent_ = 0;      // the newest user event with keys
  uint64_t echo_ack_ = 0;  // as of the last update
  uint64_t last_update_ = 0;
  int cols_ = 0, rows_n_ = 0;

  // Adaptive display, with mosh's hysteresis and glitch counting.
  bool srtt_trigger_ = false, flagging_ = false;
  int glitch_trigger_ = 0;
  uint64_t last_quick_confirmation_ = 0;

  // Parsing of the key bytes across calls.
  KeyLexer lexer_;  // keys may be cut between reads

  // Prompt learning (see the top): the newest epoch whose first key was
  // typed at a prompt, and the sigils of prompts where echo was confirmed.
  uint64_t started_epoch_ = 0;  // the epoch that has had its first key
  struct PromptEpoch {
    uint64_t epoch = 0;
    uint32_t sigil = 0;
  };
  // The newest epochs begun at a prompt: an epoch is often confirmed only
  // after the next one has begun.
  std::array<PromptEpoch, 4> prompt_epochs_{};
  size_t next_prompt_epoch_ = 0;
  std::vector<uint32_t> prompt_sigils_;
  int prompt_x_ = -1, prompt_y_ = -1;  // where the current line's prompt ends
  // The newest Return: its user event and the row it was typed on.
  uint64_t return_number_ = 0;
  int return_y_ = -1;
  bool backing_off_ = false;  // after a shown misprediction: no trust until a confirmation

  Overlay overlay_;
  uint64_t mispredictions_ = 0, confirmed_count_ = 0;
};

}  // namespace roam::client
