#include "protocol/host_state.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

#include "protocol/row_codec.h"
#include "protocol/wire.h"

// Diff format, version 1
//
//   u8 version, then sections, each `varint tag, varint length, body`, then
//   tag 0, after which nothing may follow. A reader skips tags it does not
//   know, so later versions can add sections (history answers, an echo ack)
//   without breaking older clients; the closing tag makes every truncation
//   an error. A section is present only when its part changed; the known
//   ones come at most once each, in this order (which bounds the work one
//   diff can ask for):
//
//     1 size       varint cols, varint rows (every row is then sent)
//     2 modes      varint bits: alternate screen, DECCKM, keypad, bracketed
//                  paste, focus events, reverse video, then mouse tracking
//                  and mouse encoding in two bits each
//     3 rows       operations, applied in order until the body ends:
//                    0 scroll  varint top, varint bottom, zigzag dy: what
//                              Screen::scroll does to full-width rows [top, bottom)
//                    1 rows    varint y, varint count, then `count` rows
//                  The server sends one scroll, when one saves rows, and
//                  then the rows whose versions differ from what the
//                  scrolled acknowledged screen holds there.
//     4 cursor     varint x, varint y, varint (visible | blink << 1 | shape << 2)
//     5 title      bytes
//     6 icon name  bytes
//     7 bell       varint count (absolute)
//     8 clipboard  bytes selection, bytes base64, varint serial (absolute)
//     9 session    varint (1 if exited), zigzag exit code, varint history end
//    10 history    varint history begin (the oldest line kept)
//    11 echo ack   varint (user events that reached the program)
//    12 replies    varint first kept, varint end, varint count, then the
//                  last `count` replies before end, each: varint kind,
//                  varint request, varint complete, then for lines:
//                  varint first line, varint count, the rows; for
//                  matches: varint count, the line numbers
//    13 killed     varint (1 if the session was killed rather than exited)
//    14 server     varint flags: 1 = the server is stopping (the client's
//                  session ends with it)
//
// Rows (in the rows and replies sections) are encoded as row_codec.h says.

namespace roam {
namespace {

using wire::Reader;
using wire::Writer;

constexpr uint8_t format_version = 1;

// Bounds on what one diff's replies may make us hold.
constexpr uint64_t max_replies = 256;
constexpr uint64_t max_reply_rows = 4096;
constexpr uint64_t max_reply_matches = 4096;
constexpr uint64_t max_reply_cells = uint64_t{1} << 21;
// And on the replies a state holds: the server forgets what the client
// acknowledged, and keeps its rows in flight to a few hundred, so only a
// server that never lets go of its replies comes near.
constexpr size_t max_held_replies = 2048;

enum Tag : uint64_t {
  tag_end = 0,
  tag_size = 1,
  tag_modes = 2,
  tag_rows = 3,
  tag_cursor = 4,
  tag_title = 5,
  tag_icon_name = 6,
  tag_bell = 7,
  tag_clipboard = 8,
  tag_session = 9,
  tag_history = 10,
  tag_echo_ack = 11,
  tag_replies = 12,
  tag_killed = 13,
  tag_server = 14,
  last_known_tag = tag_server,
};

enum RowOp : uint64_t { op_scroll = 0, op_rows = 1 };

uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// --- Writing

// A section's length is known only once its body is written: open_section
// leaves one byte for it and close_section widens that when needed.
size_t open_section(std::vector<uint8_t>& out, Tag tag) {
  Writer(out).varint(tag);
  out.push_back(0);
  return out.size();
}

void close_section(std::vector<uint8_t>& out, size_t body) {
  uint64_t len = out.size() - body;
  uint8_t bytes[10];
  size_t n = 0;
  for (; len >= 0x80; len >>= 7) bytes[n++] = static_cast<uint8_t>(len | 0x80);
  bytes[n++] = static_cast<uint8_t>(len);
  out[body - 1] = bytes[0];
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(body), bytes + 1, bytes + n);
}

template <class Body>
void put_section(std::vector<uint8_t>& out, Tag tag, Body&& body) {
  const size_t at = open_section(out, tag);
  Writer w(out);
  body(w);
  close_section(out, at);
}

struct Scroll {
  int top = 0, bottom = 0, dy = 0;  // as Screen::scroll takes them; dy == 0: none
};

// The version row y holds once `sc` has moved the old screen's rows; 0, which
// no row ever carries, for the rows it blanks.
uint64_t version_after(const Screen& old, const Scroll& sc, int y) {
  if (sc.dy == 0 || y < sc.top || y >= sc.bottom) return old.version(y);
  const int from = y - sc.dy;
  return from >= sc.top && from < sc.bottom ? old.version(from) : 0;
}

// Rows that moved keep their versions: the offset most of them moved by is the
// scroll, spanning the rows that moved by it. Blank rows scrolled in carry new
// versions, so rows of equal content are never taken for moved ones.
Scroll find_scroll(const Screen& old, const Screen& now) {
  const int rows = now.rows();
  // Scratch kept between diffs: a frame allocates nothing.
  thread_local std::vector<std::pair<uint64_t, int>> where;  // the old rows by version
  thread_local std::vector<std::pair<int, int>> moves;       // (old row - new row, new row)
  where.clear();
  moves.clear();
  for (int y = 0; y < rows; ++y) where.emplace_back(old.version(y), y);
  std::sort(where.begin(), where.end());
  for (int y = 0; y < rows; ++y) {
    const uint64_t v = now.version(y);
    if (v == old.version(y)) continue;
    auto it = std::lower_bound(where.begin(), where.end(), std::pair<uint64_t, int>{v, 0});
    if (it != where.end() && it->first == v) moves.emplace_back(it->second - y, y);
  }
  if (moves.empty()) return {};
  std::sort(moves.begin(), moves.end());
  size_t best = 0, votes = 0;
  for (size_t i = 0, j = 0; i < moves.size(); i = j) {
    while (j < moves.size() && moves[j].first == moves[i].first) ++j;
    if (j - i > votes) {
      best = i;
      votes = j - i;
    }
  }
  const int k = moves[best].first, first = moves[best].second, last = moves[best + votes - 1].second;
  // k > 0: rows moved up by k, from [first + k, last + k] to [first, last].
  const Scroll sc = k > 0 ? Scroll{first, last + k + 1, -k} : Scroll{first + k, last + 1, -k};
  // Worth it only if it leaves fewer rows to send.
  int with = 0, without = 0;
  for (int y = 0; y < rows; ++y) {
    with += now.version(y) != version_after(old, sc, y);
    without += now.version(y) != old.version(y);
  }
  return with < without ? sc : Scroll{};
}

void put_rows(const Screen& old, const Screen& now, bool repaint, std::vector<uint8_t>& out) {
  const int rows = now.rows();
  Scroll sc;
  if (!repaint) {
    int y = 0;
    while (y < rows && now.version(y) == old.version(y)) ++y;
    if (y == rows) return;
    sc = find_scroll(old, now);
  }
  auto stale = [&](int y) { return repaint || now.version(y) != version_after(old, sc, y); };
  const size_t body = open_section(out, tag_rows);
  {
    RowOut o(out);  // flushed at the end of this block, before the length goes in
    if (sc.dy != 0) {
      o.varint(op_scroll);
      o.varint(static_cast<uint64_t>(sc.top));
      o.varint(static_cast<uint64_t>(sc.bottom));
      o.varint(zigzag(sc.dy));
    }
    for (int y = 0; y < rows;) {
      if (!stale(y)) {
        ++y;
        continue;
      }
      int end = y + 1;
      while (end < rows && stale(end)) ++end;
      o.varint(op_rows);
      o.varint(static_cast<uint64_t>(y));
      o.varint(static_cast<uint64_t>(end - y));
      for (; y < end; ++y) put_row(o, now.row(y));
    }
  }
  close_section(out, body);
}

void put_replies(const HostState& now, const HostState& old, std::vector<uint8_t>& out) {
  const size_t body = open_section(out, tag_replies);
  {
    RowOut o(out);
    const uint64_t first = std::max(old.replies_end, now.replies_begin());
    o.varint(now.replies_begin());
    o.varint(now.replies_end);
    o.varint(now.replies_end - first);
    for (uint64_t id = first; id < now.replies_end; ++id) {
      const HistoryReply& reply = now.replies[id - now.replies_begin()];
      o.varint(static_cast<uint64_t>(reply.kind));
      o.varint(reply.request);
      o.varint(uint64_t{reply.complete});
      if (reply.kind == HistoryReply::Kind::lines) {
        o.varint(reply.first);
        o.varint(reply.rows.size());
        for (const Row& row : reply.rows) put_row(o, row);
      } else {
        o.varint(reply.matches.size());
        for (uint64_t line : reply.matches) o.varint(line);
      }
    }
  }
  close_section(out, body);
}

uint64_t mode_bits(const Modes& m) {
  return uint64_t{m.alternate_screen} | uint64_t{m.app_cursor_keys} << 1 | uint64_t{m.app_keypad} << 2 |
         uint64_t{m.bracketed_paste} << 3 | uint64_t{m.focus_events} << 4 | uint64_t{m.reverse_video} << 5 |
         uint64_t{static_cast<uint8_t>(m.mouse_tracking)} << 6 | uint64_t{static_cast<uint8_t>(m.mouse_encoding)} << 8;
}
constexpr uint64_t all_mode_bits = (1 << 10) - 1;

// --- Reading

// Values are read with varint_or_zero: callers check r.ok() before a value
// steers a loop or an allocation.
constexpr uint64_t max_u32 = std::numeric_limits<uint32_t>::max();

Result<void> read_rows(Reader& r, Screen& screen, Row& row) {
  const int cols = screen.cols(), rows = screen.rows();
  while (r.remaining() > 0) {
    const uint64_t op = r.varint_or_zero();
    if (op == op_scroll) {
      const auto top = static_cast<int>(r.varint_or_zero(static_cast<uint64_t>(rows)));
      const auto bottom = static_cast<int>(r.varint_or_zero(static_cast<uint64_t>(rows)));
      const int64_t dy = unzigzag(r.varint_or_zero());
      if (!r.ok()) return r.finish();
      if (top >= bottom || dy == 0 || dy < top - bottom || dy > bottom - top) return fail(Errc::malformed);
      screen.scroll({top, 0, bottom, cols}, static_cast<int>(dy), 0, Color::none());
    } else if (op == op_rows) {
      const auto y = static_cast<int>(r.varint_or_zero(static_cast<uint64_t>(rows - 1)));
      const auto count = static_cast<int>(r.varint_or_zero(static_cast<uint64_t>(rows - y)));
      if (!r.ok()) return r.finish();
      if (count == 0) return fail(Errc::malformed);
      for (int i = 0; i < count; ++i) {
        if (auto done = read_row(r, cols, row); !done) return done;
        screen.set_row(y + i, row);
      }
    } else {
      return r.ok() ? fail(Errc::malformed) : r.finish();
    }
  }
  return r.finish();
}

Result<void> read_replies(Reader& r, HostState& state) {
  const uint64_t begin = r.varint_or_zero(), end = r.varint_or_zero(), count = r.varint_or_zero(max_replies);
  if (!r.ok()) return r.finish();
  if (begin > end || count > end - begin) return fail(Errc::malformed);
  // The replies carried continue the ones we hold, or start after a gap of
  // replies already dropped (begin).
  const uint64_t start = end - count;
  if (start > state.replies_end) {
    if (start != begin) return fail(Errc::malformed);
    state.replies.clear();
    state.replies_end = start;
  }
  while (state.replies_end > start) {
    if (state.replies.empty()) return fail(Errc::malformed);
    state.replies.pop_back();
    --state.replies_end;
  }
  uint64_t cells = 0;
  for (uint64_t i = 0; i < count; ++i) {
    HistoryReply reply;
    const uint64_t kind = r.varint_or_zero();
    reply.request = r.varint_or_zero();
    reply.complete = r.varint_or_zero(1) != 0;
    if (!r.ok()) return r.finish();
    if (kind == static_cast<uint64_t>(HistoryReply::Kind::lines)) {
      reply.kind = HistoryReply::Kind::lines;
      reply.first = r.varint_or_zero();
      const uint64_t n = r.varint_or_zero(max_reply_rows);
      if (!r.ok()) return r.finish();
      if (n > r.remaining()) return fail(Errc::truncated);  // a row takes a byte at least
      reply.rows.resize(n);
      for (Row& row : reply.rows) {
        if (auto done = read_row(r, Screen::max_cols, row); !done) return done;
        // As push_reply keeps them, so a state read equals the state sent.
        row.cells.resize(used_cells(row));
        cells += row.cells.size();
        if (cells > max_reply_cells) return fail(Errc::too_large);
      }
    } else if (kind == static_cast<uint64_t>(HistoryReply::Kind::matches)) {
      reply.kind = HistoryReply::Kind::matches;
      const uint64_t n = r.varint_or_zero(max_reply_matches);
      if (!r.ok()) return r.finish();
      if (n > r.remaining()) return fail(Errc::truncated);
      reply.matches.resize(n);
      for (uint64_t& line : reply.matches) line = r.varint_or_zero();
      if (!r.ok()) return r.finish();
    } else {
      return fail(Errc::malformed);
    }
    state.replies.push_back(std::move(reply));
    ++state.replies_end;
  }
  const uint64_t have = state.replies_begin();
  const uint64_t drop = std::min<uint64_t>(state.replies.size(), begin > have ? begin - have : 0);
  state.replies.erase(state.replies.begin(), state.replies.begin() + static_cast<std::ptrdiff_t>(drop));
  if (state.replies.size() > max_held_replies) return fail(Errc::too_large);
  return r.finish();
}

Result<void> read_size(Reader& r, Screen& screen, size_t after) {
  const uint64_t cols = r.varint_or_zero(Screen::max_cols), rows = r.varint_or_zero(Screen::max_rows);
  if (!r.ok()) return r.finish();
  if (cols == 0 || rows == 0) return fail(Errc::malformed);
  // Every row follows a resize, one byte at least: a height the rest of
  // the diff cannot back is refused before it is allocated.
  if (rows > after) return fail(Errc::too_large);
  screen.resize(static_cast<int>(cols), static_cast<int>(rows));
  return {};
}

Result<void> read_modes(Reader& r, Screen& screen) {
  const uint64_t bits = r.varint_or_zero(all_mode_bits);
  if (!r.ok()) return r.finish();
  Modes m;
  m.alternate_screen = bits & 1;
  m.app_cursor_keys = bits & 2;
  m.app_keypad = bits & 4;
  m.bracketed_paste = bits & 8;
  m.focus_events = bits & 16;
  m.reverse_video = bits & 32;
  m.mouse_tracking = static_cast<MouseTracking>(bits >> 6 & 3);
  m.mouse_encoding = static_cast<MouseEncoding>(bits >> 8 & 3);
  screen.set_modes(m);
  return {};
}

Result<void> read_cursor(Reader& r, Screen& screen) {
  Cursor c;
  c.x = static_cast<int>(r.varint_or_zero(Screen::max_cols));
  c.y = static_cast<int>(r.varint_or_zero(Screen::max_rows));
  const uint64_t flags = r.varint_or_zero(15);
  if (!r.ok()) return r.finish();
  if ((flags >> 2) > static_cast<uint64_t>(CursorShape::bar)) return fail(Errc::malformed);
  c.visible = flags & 1;
  c.blink = flags & 2;
  c.shape = static_cast<CursorShape>(flags >> 2);
  screen.set_cursor(c);
  return {};
}

Result<void> read_clipboard(Reader& r, Screen& screen) {
  auto selection = r.bytes(16);
  if (!selection) return fail(selection.error());
  auto base64 = r.bytes(Screen::max_clipboard);
  if (!base64) return fail(base64.error());
  const auto serial = static_cast<uint32_t>(r.varint_or_zero(max_u32));
  if (!r.ok()) return r.finish();
  if (!screen.set_clipboard(wire::as_chars(*selection), wire::as_chars(*base64), serial)) return fail(Errc::malformed);
  return {};
}

Result<void> read_session(Reader& r, HostState& state) {
  const uint64_t exited = r.varint_or_zero(1);
  const int64_t code = unzigzag(r.varint_or_zero());
  const uint64_t history_end = r.varint_or_zero();
  if (!r.ok()) return r.finish();
  if (code < std::numeric_limits<int32_t>::min() || code > std::numeric_limits<int32_t>::max())
    return fail(Errc::malformed);
  state.exited = exited != 0;
  state.exit_code = static_cast<int32_t>(code);
  state.history_end = history_end;
  return {};
}

// Reads the section `tag` into `state`, short of checking that its body was
// used up. `after`: the bytes left in the diff once this section is read.
Result<void> read_body(HostState& state, uint64_t tag, Reader& r, size_t after, Row& row) {
  Screen& screen = state.screen;
  switch (tag) {
    case tag_size:
      return read_size(r, screen, after);
    case tag_modes:
      return read_modes(r, screen);
    case tag_rows:
      return read_rows(r, screen, row);
    case tag_cursor:
      return read_cursor(r, screen);
    case tag_title:
    case tag_icon_name: {
      auto text = r.bytes(Screen::max_title);
      if (!text) return fail(text.error());
      if (tag == tag_title)
        screen.set_title(wire::as_chars(*text));
      else
        screen.set_icon_name(wire::as_chars(*text));
      return {};
    }
    case tag_bell:
      screen.set_bell_count(static_cast<uint32_t>(r.varint_or_zero(max_u32)));
      return {};
    case tag_clipboard:
      return read_clipboard(r, screen);
    case tag_session:
      return read_session(r, state);
    case tag_history:
      state.history_begin = r.varint_or_zero();
      return {};
    case tag_echo_ack:
      state.echo_ack = r.varint_or_zero();
      return {};
    case tag_replies:
      return read_replies(r, state);
    case tag_killed:
      state.killed = r.varint_or_zero(1) != 0;
      return {};
    case tag_server:
      state.server_stopping = r.varint_or_zero(1) & 1;
      return {};
    default:
      return {};
  }
}

Result<void> read_section(HostState& state, uint64_t tag, Reader& r, size_t after, Row& row) {
  if (tag > last_known_tag) return {};  // a section from a later version: skipped
  if (auto done = read_body(state, tag, r, after, row); !done) return done;
  return r.finish();
}

}  // namespace

void HostState::diff_from(const HostState& old, std::vector<uint8_t>& out) const {
  const Screen &now = screen, &was = old.screen;
  Writer(out).u8(format_version);
  const bool resized = now.cols() != was.cols() || now.rows() != was.rows();
  if (resized)
    put_section(out, tag_size, [&](Writer& w) {
      w.varint(static_cast<uint64_t>(now.cols()));
      w.varint(static_cast<uint64_t>(now.rows()));
    });
  if (now.modes() != was.modes()) put_section(out, tag_modes, [&](Writer& w) { w.varint(mode_bits(now.modes())); });
  // After a resize or a grid switch nothing on the client is where it was.
  const bool repaint = resized || now.modes().alternate_screen != was.modes().alternate_screen;
  put_rows(was, now, repaint, out);
  // A resize moves the client's cursor too.
  if (resized || now.cursor() != was.cursor())
    put_section(out, tag_cursor, [&](Writer& w) {
      const Cursor& c = now.cursor();
      w.varint(static_cast<uint64_t>(c.x));
      w.varint(static_cast<uint64_t>(c.y));
      w.varint(uint64_t{c.visible} | uint64_t{c.blink} << 1 | uint64_t{static_cast<uint8_t>(c.shape)} << 2);
    });
  if (now.title() != was.title()) put_section(out, tag_title, [&](Writer& w) { w.bytes(now.title()); });
  if (now.icon_name() != was.icon_name())
    put_section(out, tag_icon_name, [&](Writer& w) { w.bytes(now.icon_name()); });
  if (now.bell_count() != was.bell_count())
    put_section(out, tag_bell, [&](Writer& w) { w.varint(now.bell_count()); });
  if (now.clipboard() != was.clipboard())
    put_section(out, tag_clipboard, [&](Writer& w) {
      const Clipboard& c = now.clipboard();
      w.bytes(c.selection);
      w.bytes(c.base64);
      w.varint(c.serial);
    });
  if (exited != old.exited || exit_code != old.exit_code || history_end != old.history_end)
    put_section(out, tag_session, [&](Writer& w) {
      w.varint(uint64_t{exited});
      w.varint(zigzag(exit_code));
      w.varint(history_end);
    });
  if (history_begin != old.history_begin) put_section(out, tag_history, [&](Writer& w) { w.varint(history_begin); });
  if (echo_ack != old.echo_ack) put_section(out, tag_echo_ack, [&](Writer& w) { w.varint(echo_ack); });
  if (replies_end != old.replies_end || replies_begin() != old.replies_begin()) put_replies(*this, old, out);
  if (killed != old.killed) put_section(out, tag_killed, [&](Writer& w) { w.varint(uint64_t{killed}); });
  if (server_stopping != old.server_stopping)
    put_section(out, tag_server, [&](Writer& w) { w.varint(uint64_t{server_stopping}); });
  Writer(out).varint(tag_end);
}

void HostState::push_reply(HistoryReply reply) {
  // As the client will see them: trailing default cells are not sent.
  for (Row& row : reply.rows)
    row.cells.resize(used_cells(row));
  replies.push_back(std::move(reply));
  ++replies_end;
}

void HostState::forget_acknowledged(const HostState& acked) {
  const uint64_t held = acked.replies_end;  // acked may be *this
  const uint64_t drop = std::min<uint64_t>(replies.size(), held > replies_begin() ? held - replies_begin() : 0);
  replies.erase(replies.begin(), replies.begin() + static_cast<std::ptrdiff_t>(drop));
}

void HostState::forget_reply_contents(uint64_t end) {
  const uint64_t begin = replies_begin();
  for (uint64_t id = begin; id < std::min(end, replies_end); ++id) {
    HistoryReply& r = replies[id - begin];
    if (r.rows.capacity() == 0 && r.matches.capacity() == 0) continue;
    std::vector<Row>().swap(r.rows);
    std::vector<uint64_t>().swap(r.matches);
  }
}

size_t HostState::held_bytes() const {
  size_t total = screen.held_bytes() + replies.capacity() * sizeof(HistoryReply);
  for (const HistoryReply& r : replies) {
    total += r.rows.capacity() * sizeof(Row) + r.matches.capacity() * sizeof(uint64_t);
    for (const Row& row : r.rows) {
      total += row.cells.capacity() * sizeof(Cell);
      for (const auto& m : row.marks) total += sizeof m + m.second.capacity() * sizeof(char32_t);
    }
  }
  return total;
}

Result<void> HostState::apply(std::span<const uint8_t> diff) {
  Reader r(diff);
  const auto version = r.u8();
  if (!version) return fail(version.error());
  if (*version != format_version) return fail(Errc::bad_version);
  thread_local Row row;  // reused by every row of every diff
  uint64_t last = tag_end;
  for (;;) {
    const auto tag = r.varint();
    if (!tag) return fail(tag.error());
    if (*tag == tag_end) return r.finish();
    if (*tag <= last_known_tag) {
      if (*tag <= last) return fail(Errc::malformed);
      last = *tag;
    }
    const auto body = r.bytes(r.remaining());
    if (!body) return fail(body.error());
    Reader section(*body);
    if (auto done = read_section(*this, *tag, section, r.remaining(), row); !done) return done;
  }
}

}  // namespace roam
