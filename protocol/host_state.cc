#include "protocol/host_state.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

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
// A row is varint (n << 2 | wrapped << 1 | has marks), where cells from n on
// are default blank cells (a blank row is one byte); then, if n > 0, pen runs
// covering [0, n), each `varint length, pen`; then the characters of [0, n)
// as items:
//     0              a blank cell (ch 0)
//     1 count item   `item` repeated `count` times
//     2 ch           a wide character: a width-2 cell and the wide_tail after it
//     3 ch width     any other cell, as it is
//     >= 0x20        a narrow character (4 to 0x1f are reserved)
// and, if the row has marks, varint count, then per marked column: varint
// column (the first as it is, later ones as the gap after the previous one),
// varint count, the codepoints.
// A pen is varint (attrs << 3 | has underline colour << 2 | has fg << 1 |
// has bg), then the colours it has (those that are not the default: fg, bg,
// underline), each varint (value << 2 | kind).

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

enum TextCode : uint64_t { text_blank = 0, text_repeat = 1, text_wide = 2, text_raw = 3, text_narrow = 0x20 };

// A run this long or longer is sent as one repeated item.
constexpr int min_repeat = 3;

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

// The row encoder's output: bytes gather in a buffer on the stack and go to
// the vector in chunks, because pushing them one by one onto the vector
// reloads its end after every byte (a byte store may alias anything).
class RowOut {
 public:
  explicit RowOut(std::vector<uint8_t>& out) : out_(out) {}
  RowOut(const RowOut&) = delete;
  RowOut& operator=(const RowOut&) = delete;
  ~RowOut() { flush(); }

  void varint(uint64_t v) {
    if (buf_ + sizeof buf_ - p_ < 10) flush();
    for (; v >= 0x80; v >>= 7) *p_++ = static_cast<uint8_t>(v | 0x80);
    *p_++ = static_cast<uint8_t>(v);
  }

 private:
  void flush() {
    out_.insert(out_.end(), buf_, p_);
    p_ = buf_;
  }

  std::vector<uint8_t>& out_;
  uint8_t buf_[512];
  uint8_t* p_ = buf_;
};

bool same_pen(const Cell& a, const Cell& b) {
  return a.fg == b.fg && a.bg == b.bg && a.attrs == b.attrs && a.ul == b.ul;
}

// Colour kinds fit two bits.
void put_color(RowOut& out, Color c) { out.varint(uint64_t{c.value()} << 2 | c.kind()); }

void put_pen(RowOut& out, const Cell& c) {
  const bool fg = c.fg != Color::none(), bg = c.bg != Color::none(), ul = c.ul != Color::none();
  out.varint(uint64_t{c.attrs} << 3 | uint64_t{ul} << 2 | uint64_t{fg} << 1 | uint64_t{bg});
  if (fg) put_color(out, c.fg);
  if (bg) put_color(out, c.bg);
  if (ul) put_color(out, c.ul);
}

// How many cells the text item at x covers: a wide character with its tail is one.
int item_cells(const Cell* c, int x, int n) {
  return c[x].width == 2 && x + 1 < n && c[x + 1].ch == Cell::wide_tail && c[x + 1].width == 1 ? 2 : 1;
}

void put_item(RowOut& out, const Cell& c, int cells) {
  if (cells == 2) {
    out.varint(text_wide);
    out.varint(c.ch);
  } else if (c.width == 1 && c.ch == 0) {
    out.varint(text_blank);
  } else if (c.width == 1 && c.ch >= text_narrow) {
    out.varint(c.ch);
  } else {
    out.varint(text_raw);
    out.varint(c.ch);
    out.varint(c.width);
  }
}

void put_row(RowOut& out, const Row& row) {
  const Cell* c = row.cells.data();
  int n = static_cast<int>(row.cells.size());
  while (n > 0 && c[n - 1] == Cell{}) --n;
  out.varint(static_cast<uint64_t>(n) << 2 | uint64_t{row.wrapped} << 1 | uint64_t{!row.marks.empty()});
  for (int x = 0; x < n;) {
    int end = x + 1;
    while (end < n && same_pen(c[end], c[x])) ++end;
    out.varint(static_cast<uint64_t>(end - x));
    put_pen(out, c[x]);
    x = end;
  }
  for (int x = 0; x < n;) {
    // Most cells: a printable ASCII character unlike the next one.
    if (c[x].width == 1 && c[x].ch - text_narrow < 0x80 - text_narrow && (x + 1 == n || c[x + 1].ch != c[x].ch)) {
      out.varint(c[x++].ch);
      continue;
    }
    const int cells = item_cells(c, x, n);
    int end = x + cells, count = 1;
    while (end + cells <= n && c[end].ch == c[x].ch && c[end].width == c[x].width && item_cells(c, end, n) == cells) {
      end += cells;
      ++count;
    }
    if (count >= min_repeat) {
      out.varint(text_repeat);
      out.varint(static_cast<uint64_t>(count));
      put_item(out, c[x], cells);
    } else {
      for (int i = 0; i < count; ++i) put_item(out, c[x], cells);
    }
    x = end;
  }
  if (!row.marks.empty()) {
    out.varint(row.marks.size());
    int next = 0;
    for (const auto& [col, chars] : row.marks) {
      out.varint(static_cast<uint64_t>(col - next));
      next = col + 1;
      out.varint(chars.size());
      for (char32_t ch : chars) out.varint(ch);
    }
  }
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

// A varint of at most `max`, or 0 once the reader has failed: it stays failed,
// so callers check r.ok() before a value steers a loop or an allocation.
uint64_t take(Reader& r, uint64_t max = std::numeric_limits<uint64_t>::max()) {
  auto v = r.varint(max);
  return v ? *v : 0;
}

constexpr uint64_t max_u32 = std::numeric_limits<uint32_t>::max();

// Every two-bit kind is one.
Color read_color(Reader& r) {
  const uint64_t code = take(r, uint64_t{0xffffff} << 2 | 3);
  return Color{static_cast<uint32_t>((code & 3) << 24 | code >> 2)};
}

Result<void> read_row(Reader& r, int cols, Row& row) {
  const uint64_t head = take(r, static_cast<uint64_t>(cols) << 2 | 3);
  if (!r.ok()) return r.finish();
  const size_t n = head >> 2;
  row.wrapped = head & 2;
  row.cells.assign(n, Cell{});
  row.marks.clear();
  Cell* c = row.cells.data();
  for (size_t x = 0; x < n;) {
    const size_t len = take(r, n - x);
    const uint64_t pen = take(r, uint64_t{0xffff} << 3 | 7);
    const Color fg = pen & 2 ? read_color(r) : Color::none();
    const Color bg = pen & 1 ? read_color(r) : Color::none();
    const Color ul = pen & 4 ? read_color(r) : Color::none();
    if (!r.ok()) return r.finish();
    if (len == 0) return fail(Errc::malformed);
    for (size_t end = x + len; x < end; ++x) c[x].set_pen({fg, bg, static_cast<uint16_t>(pen >> 3), ul});
  }
  for (size_t x = 0; x < n;) {
    uint64_t code = take(r), count = 1;
    if (code == text_repeat) {
      count = take(r, n - x);
      code = take(r);
    }
    uint64_t ch = 0, width = 1;
    size_t cells = 1;
    if (code == text_wide) {
      ch = take(r, max_u32);
      width = cells = 2;
    } else if (code == text_raw) {
      ch = take(r, max_u32);
      width = take(r, std::numeric_limits<uint8_t>::max());
    } else if (code >= text_narrow) {
      ch = code;
    } else if (code != text_blank) {
      return r.ok() ? fail(Errc::malformed) : r.finish();
    }
    if (!r.ok()) return r.finish();
    if (count == 0 || ch > max_u32 || count * cells > n - x) return fail(Errc::malformed);
    for (; count > 0; --count) {
      c[x].ch = static_cast<uint32_t>(ch);
      c[x].width = static_cast<uint8_t>(width);
      if (cells == 2) c[x + 1].ch = Cell::wide_tail;
      x += cells;
    }
  }
  if (head & 1) {
    const uint64_t count = take(r, static_cast<uint64_t>(cols));
    if (!r.ok()) return r.finish();
    if (count == 0) return fail(Errc::malformed);
    uint64_t col = 0;  // the first column the next mark may take
    for (uint64_t i = 0; i < count; ++i) {
      col += take(r, static_cast<uint64_t>(cols));
      const uint64_t len = take(r, Screen::max_marks);
      if (!r.ok()) return r.finish();
      if (col >= static_cast<uint64_t>(cols) || len == 0) return fail(Errc::malformed);
      std::u32string chars;
      for (uint64_t j = 0; j < len; ++j) chars.push_back(static_cast<char32_t>(take(r, max_u32)));
      if (!r.ok()) return r.finish();
      row.marks.emplace_back(static_cast<uint16_t>(col), std::move(chars));
      ++col;
    }
  }
  return {};
}

Result<void> read_rows(Reader& r, Screen& screen, Row& row) {
  const int cols = screen.cols(), rows = screen.rows();
  while (r.remaining() > 0) {
    const uint64_t op = take(r);
    if (op == op_scroll) {
      const auto top = static_cast<int>(take(r, static_cast<uint64_t>(rows)));
      const auto bottom = static_cast<int>(take(r, static_cast<uint64_t>(rows)));
      const int64_t dy = unzigzag(take(r));
      if (!r.ok()) return r.finish();
      if (top >= bottom || dy == 0 || dy < top - bottom || dy > bottom - top) return fail(Errc::malformed);
      screen.scroll({top, 0, bottom, cols}, static_cast<int>(dy), 0, Color::none());
    } else if (op == op_rows) {
      const auto y = static_cast<int>(take(r, static_cast<uint64_t>(rows - 1)));
      const auto count = static_cast<int>(take(r, static_cast<uint64_t>(rows - y)));
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
  const uint64_t begin = take(r), end = take(r), count = take(r, max_replies);
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
    const uint64_t kind = take(r);
    reply.request = take(r);
    reply.complete = take(r, 1) != 0;
    if (!r.ok()) return r.finish();
    if (kind == static_cast<uint64_t>(HistoryReply::Kind::lines)) {
      reply.kind = HistoryReply::Kind::lines;
      reply.first = take(r);
      const uint64_t n = take(r, max_reply_rows);
      if (!r.ok()) return r.finish();
      if (n > r.remaining()) return fail(Errc::truncated);  // a row takes a byte at least
      reply.rows.resize(n);
      for (Row& row : reply.rows) {
        if (auto done = read_row(r, Screen::max_cols, row); !done) return done;
        // As push_reply keeps them, so a state read equals the state sent.
        while (!row.cells.empty() && row.cells.back() == Cell{}) row.cells.pop_back();
        cells += row.cells.size();
        if (cells > max_reply_cells) return fail(Errc::too_large);
      }
    } else if (kind == static_cast<uint64_t>(HistoryReply::Kind::matches)) {
      reply.kind = HistoryReply::Kind::matches;
      const uint64_t n = take(r, max_reply_matches);
      if (!r.ok()) return r.finish();
      if (n > r.remaining()) return fail(Errc::truncated);
      reply.matches.resize(n);
      for (uint64_t& line : reply.matches) line = take(r);
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
  return r.finish();
}

// `after`: the bytes left in the diff once this section is read.
// the count steps left to this diff.
Result<void> read_section(HostState& state, uint64_t tag, Reader& r, size_t after, Row& row) {
  Screen& screen = state.screen;
  switch (tag) {
    case tag_size: {
      const uint64_t cols = take(r, Screen::max_cols), rows = take(r, Screen::max_rows);
      if (!r.ok()) return r.finish();
      if (cols == 0 || rows == 0) return fail(Errc::malformed);
      // Every row follows a resize, one byte at least: a height the rest of
      // the diff cannot back is refused before it is allocated.
      if (rows > after) return fail(Errc::too_large);
      screen.resize(static_cast<int>(cols), static_cast<int>(rows));
      break;
    }
    case tag_modes: {
      const uint64_t bits = take(r, all_mode_bits);
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
      break;
    }
    case tag_rows:
      return read_rows(r, screen, row);
    case tag_cursor: {
      Cursor c;
      c.x = static_cast<int>(take(r, Screen::max_cols));
      c.y = static_cast<int>(take(r, Screen::max_rows));
      const uint64_t flags = take(r, 15);
      if (!r.ok()) return r.finish();
      if ((flags >> 2) > static_cast<uint64_t>(CursorShape::bar)) return fail(Errc::malformed);
      c.visible = flags & 1;
      c.blink = flags & 2;
      c.shape = static_cast<CursorShape>(flags >> 2);
      screen.set_cursor(c);
      break;
    }
    case tag_title:
    case tag_icon_name: {
      auto text = r.bytes(Screen::max_title);
      if (!text) return fail(text.error());
      if (tag == tag_title)
        screen.set_title(wire::as_chars(*text));
      else
        screen.set_icon_name(wire::as_chars(*text));
      break;
    }
    case tag_bell: {
      const auto count = static_cast<uint32_t>(take(r, max_u32));
      if (!r.ok()) return r.finish();
      screen.set_bell_count(count);
      break;
    }
    case tag_clipboard: {
      auto selection = r.bytes(16);
      if (!selection) return fail(selection.error());
      auto base64 = r.bytes(Screen::max_clipboard);
      if (!base64) return fail(base64.error());
      const auto serial = static_cast<uint32_t>(take(r, max_u32));
      if (!r.ok()) return r.finish();
      if (!screen.set_clipboard(wire::as_chars(*selection), wire::as_chars(*base64), serial))
        return fail(Errc::malformed);
      break;
    }
    case tag_session: {
      const uint64_t exited = take(r, 1);
      const int64_t code = unzigzag(take(r));
      const uint64_t history_end = take(r);
      if (!r.ok()) return r.finish();
      if (code < std::numeric_limits<int32_t>::min() || code > std::numeric_limits<int32_t>::max())
        return fail(Errc::malformed);
      state.exited = exited != 0;
      state.exit_code = static_cast<int32_t>(code);
      state.history_end = history_end;
      break;
    }
    case tag_history:
      state.history_begin = take(r);
      break;
    case tag_echo_ack:
      state.echo_ack = take(r);
      break;
    case tag_replies:
      return read_replies(r, state);
    case tag_killed:
      state.killed = take(r, 1) != 0;
      break;
    case tag_server: {
      const uint64_t flags = take(r, 1);
      if (!r.ok()) return r.finish();
      state.server_stopping = flags & 1;
      break;
    }
    default:
      return {};  // a section from a later version: skipped
  }
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
    while (!row.cells.empty() && row.cells.back() == Cell{}) row.cells.pop_back();
  replies.push_back(std::move(reply));
  ++replies_end;
}

void HostState::forget_acknowledged(const HostState& acked) {
  const uint64_t held = acked.replies_end;  // acked may be *this
  const uint64_t drop = std::min<uint64_t>(replies.size(), held > replies_begin() ? held - replies_begin() : 0);
  replies.erase(replies.begin(), replies.begin() + static_cast<std::ptrdiff_t>(drop));
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
