// Client->server state: everything the user did, in order (keystroke bytes,
// terminal resizes, detaching, asking for history). A diff is the events the other side has not
// acknowledged, so resending one after loss is harmless.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace roam {

struct UserEvent {
  enum class Kind : uint8_t { keys = 1, resize = 2, detach = 3, history_lines = 4, history_search = 5 };
  Kind kind = Kind::keys;
  std::string keys;  // keys: the bytes; history_search: the needle
  uint16_t cols = 0, rows = 0;
  // history_lines: lines [from, to). history_search: the lines before `to`
  // that contain the needle, from `from` on towards newer lines, or with
  // `backward` towards older ones.
  uint64_t from = 0, to = 0;
  bool backward = false, case_sensitive = true;
  // history_lines: the user is waiting for these (the pager's view): they
  // go before other requests and outside the budget for rows in flight.
  bool urgent = false;
  friend bool operator==(const UserEvent&, const UserEvent&) = default;
};

class UserState {
 public:
  // A state never holds more key bytes than this: push_keys refuses them and
  // apply() refuses a diff that would, so no diff can approach the
  // instruction limit (protocol/fragment.h). Senders with more to type keep
  // it outside the state until the peer has acknowledged what came before.
  static constexpr size_t max_key_bytes = 2 << 20;

  // Returns false (and holds nothing more) when the bytes would pass max_key_bytes.
  bool push_keys(std::string_view bytes);
  void push_resize(int cols, int rows);
  void push_detach();
  // Each returns the request's event number, which the reply names.
  uint64_t push_history_lines(uint64_t from, uint64_t to, bool urgent = false);
  uint64_t push_history_search(std::string_view needle, uint64_t from, uint64_t to, bool backward,
                               bool case_sensitive);

  // Absolute event numbers: the first event ever is 0.
  uint64_t end() const { return base_ + events_.size(); }
  uint64_t begin() const { return base_; }
  // The bytes of the keys events held (not yet forgotten).
  size_t key_bytes() const { return key_bytes_; }
  const UserEvent& at(uint64_t index) const { return events_[index - base_]; }
  // Frees events before `index` once no diff can need them any more.
  void forget_before(uint64_t index);
  // The transport calls this once the peer holds `acked`.
  void forget_acknowledged(const UserState& acked) { forget_before(acked.end()); }

  void diff_from(const UserState& old, std::vector<uint8_t>& out) const;
  Result<void> apply(std::span<const uint8_t> diff);

  // Same events: the transport asks whether there is anything new to send.
  friend bool operator==(const UserState& a, const UserState& b) { return a.end() == b.end(); }

 private:
  std::deque<UserEvent> events_;
  uint64_t base_ = 0;
  size_t key_bytes_ = 0;
};

}  // namespace roam
