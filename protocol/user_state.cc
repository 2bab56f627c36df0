#include "protocol/user_state.h"

#include "protocol/wire.h"

namespace roam {

namespace {

constexpr uint8_t format_version = 1;
// Bounds for decoding: no diff may ask us to hold more than this.
constexpr uint64_t max_events = 1 << 16;
constexpr size_t max_keys = 1 << 20;
constexpr size_t max_needle = 1024;

}  // namespace

bool UserState::push_keys(std::string_view bytes) {
  if (bytes.size() > max_key_bytes - key_bytes_) return false;
  if (bytes.empty()) return true;
  events_.push_back({UserEvent::Kind::keys, std::string(bytes), 0, 0});
  key_bytes_ += bytes.size();
  return true;
}

void UserState::push_resize(int cols, int rows) {
  events_.push_back({UserEvent::Kind::resize, {}, static_cast<uint16_t>(cols), static_cast<uint16_t>(rows)});
}

void UserState::push_detach() { events_.push_back({UserEvent::Kind::detach, {}, 0, 0}); }

uint64_t UserState::push_history_lines(uint64_t from, uint64_t to, bool urgent) {
  UserEvent e;
  e.kind = UserEvent::Kind::history_lines;
  e.from = from;
  e.to = to;
  e.urgent = urgent;
  events_.push_back(std::move(e));
  return end() - 1;
}

uint64_t UserState::push_history_search(std::string_view needle, uint64_t from, uint64_t to, bool backward,
                                        bool case_sensitive) {
  UserEvent e;
  e.kind = UserEvent::Kind::history_search;
  e.keys.assign(needle.substr(0, max_needle));
  e.from = from;
  e.to = to;
  e.backward = backward;
  e.case_sensitive = case_sensitive;
  events_.push_back(std::move(e));
  return end() - 1;
}

void UserState::forget_before(uint64_t index) {
  while (base_ < index && !events_.empty()) {
    if (events_.front().kind == UserEvent::Kind::keys) key_bytes_ -= events_.front().keys.size();
    events_.pop_front();
    ++base_;
  }
}

// Format: version, the number of the first event carried, the count, then
// each event: kind and its fields (history requests: from, to, a flags byte
// backward | case sensitive << 1 | urgent << 2, and a search's needle).
// The receiver skips events it already has.
void UserState::diff_from(const UserState& old, std::vector<uint8_t>& out) const {
  wire::Writer w(out);
  w.u8(format_version);
  const uint64_t first = std::max(old.end(), base_);
  w.varint(first);
  w.varint(end() - first);
  for (uint64_t i = first; i < end(); ++i) {
    const UserEvent& e = at(i);
    w.u8(static_cast<uint8_t>(e.kind));
    if (e.kind == UserEvent::Kind::keys) w.bytes(e.keys);
    if (e.kind == UserEvent::Kind::resize) {
      w.u16(e.cols);
      w.u16(e.rows);
    }
    if (e.kind == UserEvent::Kind::history_lines || e.kind == UserEvent::Kind::history_search) {
      w.varint(e.from);
      w.varint(e.to);
      w.u8(static_cast<uint8_t>(uint8_t{e.backward} | uint8_t{e.case_sensitive} << 1 | uint8_t{e.urgent} << 2));
    }
    if (e.kind == UserEvent::Kind::history_search) w.bytes(e.keys);
  }
}

Result<void> UserState::apply(std::span<const uint8_t> diff) {
  wire::Reader r(diff);
  auto version = r.u8();
  auto first = r.varint();
  auto count = r.varint(max_events);
  if (!r.ok()) return fail(Errc::truncated);
  if (*version != format_version) return fail(Errc::bad_version);
  // A diff from a state we do not hold would leave a gap.
  if (*first > end()) return fail(Errc::malformed);
  for (uint64_t i = 0; i < *count; ++i) {
    auto kind = r.u8();
    if (!kind) return fail(kind.error());
    UserEvent e;
    switch (static_cast<UserEvent::Kind>(*kind)) {
      case UserEvent::Kind::keys: {
        auto keys = r.bytes(max_keys);
        if (!keys) return fail(keys.error());
        // Events we hold already are skipped below and add nothing.
        if (*first + i >= end() && keys->size() > max_key_bytes - key_bytes_) return fail(Errc::too_large);
        e.keys.assign(wire::as_chars(*keys));
        break;
      }
      case UserEvent::Kind::resize: {
        auto cols = r.u16();
        auto rows = r.u16();
        if (!r.ok()) return fail(Errc::truncated);
        e.cols = *cols;
        e.rows = *rows;
        break;
      }
      case UserEvent::Kind::detach: break;
      case UserEvent::Kind::history_lines:
      case UserEvent::Kind::history_search: {
        auto from = r.varint();
        auto to = r.varint();
        auto flags = r.u8();
        if (!r.ok()) return fail(Errc::truncated);
        if (*flags > 7) return fail(Errc::malformed);
        e.from = *from;
        e.to = *to;
        e.backward = *flags & 1;
        e.case_sensitive = *flags & 2;
        e.urgent = *flags & 4;
        if (*kind == static_cast<uint8_t>(UserEvent::Kind::history_lines)) break;
        auto needle = r.bytes(max_needle);
        if (!needle) return fail(needle.error());
        e.keys.assign(wire::as_chars(*needle));
        break;
      }
      default: return fail(Errc::malformed);
    }
    e.kind = static_cast<UserEvent::Kind>(*kind);
    if (*first + i >= end()) {
      key_bytes_ += e.keys.size() * (e.kind == UserEvent::Kind::keys);
      events_.push_back(std::move(e));
    }
  }
  return r.finish();
}

}  // namespace roam
