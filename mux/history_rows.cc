#include "mux/history_rows.h"

#include <algorithm>

#include "protocol/utf8.h"

namespace roam::mux {
namespace {


// Per row metadata: varint cell count, flags byte, then if flagged a
// length-prefixed list of shapes and one of pen runs.
enum RowFlag : uint8_t { row_wrapped = 1, row_shapes = 2, row_pens = 4 };

// A shape entry is (varint column delta from the previous entry, kind,
// payload) and says what the text alone cannot. Entries at one column come
// in this order: the cell's kind, its width, then its marks.
enum Shape : uint8_t {
  shape_blanks = 0,  // varint n: n cells with ch 0; the text has a space each
  shape_wide = 1,    // a width-2 character and its wide_tail cell (width 1)
  shape_tail = 2,    // a wide_tail cell without its left half; no text
  shape_raw = 3,     // varint ch: a cell holding no printable character; no text
  shape_width = 4,   // varint width: the cell's width is not 1
  shape_marks = 5,   // varint n: the n codepoints after the cell's are its marks
};

using Bytes = std::vector<uint8_t>;

// The codepoint at s[pos], advancing pos; 0 (never printable) if the bytes
// are not a printable character as put_utf8 writes it.
uint32_t take_utf8(std::string_view s, size_t& pos) {
  size_t len = 0;
  const char32_t c = decode_utf8(s, pos, len);
  if (len == 0 || !printable_scalar(c)) return 0;
  pos += len;
  return c;
}

void put_color(wire::Writer& w, Color c) {
  w.u8(static_cast<uint8_t>(c.packed >> 24));
  w.varint(c.value());
}

void put_pen(wire::Writer& w, const Pen& p) {
  const bool fg = p.fg != Color{}, bg = p.bg != Color{}, attrs = p.attrs != 0, ul = p.ul != Color{};
  w.u8(static_cast<uint8_t>(fg | bg << 1 | attrs << 2 | ul << 3));
  if (fg) put_color(w, p.fg);
  if (bg) put_color(w, p.bg);
  if (attrs) w.varint(p.attrs);
  if (ul) put_color(w, p.ul);
}

using Marks = std::vector<Mark>;

// The row's marks by column: `row.marks` itself, or sorted into `scratch`.
const Marks& sorted_marks(const Row& row, Marks& scratch) {
  auto by_column = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (std::is_sorted(row.marks.begin(), row.marks.end(), by_column)) return row.marks;
  scratch = row.marks;
  std::stable_sort(scratch.begin(), scratch.end(), by_column);
  return scratch;
}

// Writes shape entries, each at or after the previous one's column; a run
// of never-written cells becomes one entry.
class ShapeWriter {
 public:
  explicit ShapeWriter(Bytes& out) : w_(out) { out.clear(); }
  void blank(size_t col) {
    if (!blanks_) blanks_start_ = col;
    ++blanks_;
  }
  // Ends a run of blanks: the next cell is not one.
  void flush() {
    if (!blanks_) return;
    entry(blanks_start_, shape_blanks);
    w_.varint(blanks_);
    blanks_ = 0;
  }
  // An entry of `kind` at `col`; its payload, if any, follows with payload().
  void put(size_t col, Shape kind) {
    flush();
    entry(col, kind);
  }
  void payload(uint64_t v) { w_.varint(v); }

 private:
  void entry(size_t col, Shape kind) {
    w_.varint(col - last_col_);
    w_.u8(kind);
    last_col_ = col;
  }
  wire::Writer w_;
  size_t last_col_ = 0, blanks_start_ = 0, blanks_ = 0;
};

bool plain_ascii(const Cell& cell) { return cell.ch - 0x20 < 0x5f && cell.width == 1; }

// The text and shapes of cell c, which is not plain ASCII; `tail_covered`
// says the next wide_tail cell is implied by a shape_wide entry.
char* encode_cell(const Row& row, size_t c, size_t used, char* out, ShapeWriter& sw, bool& tail_covered) {
  const Cell& cell = row.cells[c];
  if (cell.ch == 0 && cell.width == 1) {
    sw.blank(c);
    *out++ = ' ';
    return out;
  }
  sw.flush();
  bool odd_width = cell.width != 1;
  if (cell.ch == Cell::wide_tail) {
    if (!tail_covered) sw.put(c, shape_tail);
    tail_covered = false;
  } else if (!printable_scalar(cell.ch)) {
    sw.put(c, shape_raw);
    sw.payload(cell.ch);
  } else {
    if (cell.width == 2 && c + 1 < used && row.cells[c + 1].ch == Cell::wide_tail && row.cells[c + 1].width == 1) {
      sw.put(c, shape_wide);
      odd_width = false;
      tail_covered = true;
    }
    out = put_utf8(out, cell.ch);
  }
  if (odd_width) {
    sw.put(c, shape_width);
    sw.payload(cell.width);
  }
  return out;
}

// Appends the text of cells [0, used) with their marks and a '\n' to
// `text`, and to `shapes` what the text cannot say. True if every cell is
// plain ASCII in the default pen, so there are no pens to write.
bool encode_cells(const Row& row, size_t used, std::span<const Mark> marks, std::string& text, Bytes& shapes) {
  // Room for every cell and mark at 4 bytes, and the '\n'; trimmed below.
  size_t bound = used + 1;
  for (const Mark& m : marks) bound += m.second.size();
  const size_t text_start = text.size();
  text.resize(text_start + 4 * bound);
  char* out = text.data() + text_start;
  ShapeWriter sw(shapes);

  size_t next_mark = 0;
  size_t mark_col = marks.empty() ? max_history_cells : marks[0].first;
  // Most rows are all plain ASCII in the default pen: their leading plain
  // cells are copied in a tight loop, which also tells whether any pen is set.
  size_t c = 0;
  uint32_t pen_bits = 0;
  for (const size_t plain_end = std::min(used, mark_col); c < plain_end && plain_ascii(row.cells[c]); ++c) {
    const Cell& cell = row.cells[c];
    pen_bits |= cell.fg.packed | cell.bg.packed | cell.attrs | cell.ul.packed;
    *out++ = static_cast<char>(cell.ch);
  }
  const bool default_pens = c == used && pen_bits == 0;
  bool tail_covered = false;
  for (; c < used; ++c) {
    if (plain_ascii(row.cells[c]) && c != mark_col) {
      sw.flush();
      *out++ = static_cast<char>(row.cells[c].ch);
      continue;
    }
    out = encode_cell(row, c, used, out, sw, tail_covered);
    for (; c == mark_col; mark_col = ++next_mark < marks.size() ? marks[next_mark].first : max_history_cells) {
      const std::u32string& m = marks[next_mark].second;
      sw.put(c, shape_marks);
      sw.payload(m.size());
      for (char32_t cp : m) out = put_utf8(out, printable_scalar(cp) ? cp : 0xfffd);
    }
  }
  sw.flush();
  *out++ = '\n';
  text.resize(static_cast<size_t>(out - text.data()));
  return default_pens;
}

// Runs of cells [0, used) whose pen is not the default.
void encode_pens(const Row& row, size_t used, Bytes& pens) {
  pens.clear();
  wire::Writer pw(pens);
  size_t prev_end = 0;
  for (size_t c = 0; c < used;) {
    const Pen pen = row.cells[c].pen();
    size_t e = c + 1;
    while (e < used && row.cells[e].pen() == pen) ++e;
    if (pen != Pen{}) {
      pw.varint(c - prev_end);
      pw.varint(e - c);
      put_pen(pw, pen);
      prev_end = e;
    }
    c = e;
  }
}

Color get_color(wire::Reader& r) {
  const uint8_t kind = r.u8_or_zero();
  return {uint32_t{kind} << 24 | static_cast<uint32_t>(r.varint_or_zero(0xffffff))};
}

// Reads shape entries in column order.
struct ShapeReader {
  explicit ShapeReader(wire::Bytes shapes) : r(shapes) { next(); }
  void next() {
    pending = r.remaining() > 0;
    if (pending) {
      col += r.varint_or_zero(max_history_cells);
      kind = r.u8_or_zero();
    }
  }
  bool at(size_t c) const { return pending && col == c; }
  wire::Reader r;
  size_t col = 0;  // column of the pending entry
  uint8_t kind = 0;
  bool pending = false;
};

enum class Source { text, blank, none };

// Applies the cell shape entry `kind` (not shape_marks) to `cell`.
Result<void> apply_shape(ShapeReader& sr, Cell& cell, Source& source, size_t& blanks, bool& tail_next) {
  switch (sr.kind) {
    case shape_blanks:
      blanks = sr.r.varint_or_zero(max_history_cells);
      if (blanks == 0) return fail(Errc::malformed);
      --blanks;
      source = Source::blank;
      return {};
    case shape_wide:
      cell.width = 2;
      tail_next = true;
      return {};
    case shape_tail:
      cell.ch = Cell::wide_tail;
      source = Source::none;
      return {};
    case shape_raw:
      cell.ch = static_cast<uint32_t>(sr.r.varint_or_zero(0xffffffff));
      source = Source::none;
      return {};
    case shape_width:
      cell.width = static_cast<uint8_t>(sr.r.varint_or_zero(0xff));
      return {};
    default:
      return fail(Errc::malformed);
  }
}

Result<void> decode_cells(const EncodedRow& encoded, Row& row) {
  const std::string_view line = encoded.text;
  ShapeReader sr(encoded.shapes);
  size_t lpos = 0, blanks = 0;
  bool tail_next = false;
  for (size_t c = 0; c < encoded.width; ++c) {
    if (lpos == line.size() && !sr.pending && !blanks && !tail_next) break;
    Cell& cell = row.cells[c];
    Source source = Source::text;
    if (blanks) {
      --blanks;
      source = Source::blank;
    } else if (tail_next) {
      tail_next = false;
      cell.ch = Cell::wide_tail;
      source = Source::none;
    }
    for (; sr.at(c) && sr.kind != shape_marks; sr.next())
      if (auto ok = apply_shape(sr, cell, source, blanks, tail_next); !ok) return ok;
    if (source == Source::text) {
      cell.ch = take_utf8(line, lpos);
      if (!cell.ch) return fail(Errc::malformed);
    } else if (source == Source::blank) {
      if (lpos == line.size() || line[lpos] != ' ') return fail(Errc::malformed);
      ++lpos;
    }
    for (; sr.at(c) && sr.kind == shape_marks; sr.next()) {
      std::u32string marks(sr.r.varint_or_zero(line.size() - lpos), U'\0');
      for (char32_t& m : marks) {
        m = take_utf8(line, lpos);
        if (!m) return fail(Errc::malformed);
      }
      row.marks.emplace_back(static_cast<uint16_t>(c), std::move(marks));
    }
    if (!sr.r.ok()) return fail(Errc::malformed);
  }
  if (lpos != line.size() || sr.pending || blanks || tail_next) return fail(Errc::malformed);
  return {};
}

Result<void> decode_pens(wire::Bytes pens, Row& row) {
  const size_t width = row.cells.size();
  wire::Reader pr(pens);
  size_t c = 0;
  while (pr.remaining()) {
    const size_t start = c + pr.varint_or_zero(width - c);
    const size_t len = pr.varint_or_zero(width - start);
    const uint8_t parts = pr.u8_or_zero();
    Pen pen;
    if (parts & 1) pen.fg = get_color(pr);
    if (parts & 2) pen.bg = get_color(pr);
    if (parts & 4) pen.attrs = static_cast<uint16_t>(pr.varint_or_zero(0xffff));
    if (parts & 8) pen.ul = get_color(pr);
    if (!pr.ok() || parts > 15) return fail(Errc::malformed);
    for (c = start; c < start + len; ++c) row.cells[c].set_pen(pen);
  }
  return {};
}

}  // namespace

void encode_row(const Row& row, std::string& text, Bytes& meta, Bytes& shapes, Bytes& pens) {
  const size_t width = std::min(row.cells.size(), max_history_cells);
  Marks scratch;
  const Marks& all_marks = sorted_marks(row, scratch);
  const auto marks_end = std::lower_bound(all_marks.begin(), all_marks.end(), width,
                                          [](const auto& m, size_t col) { return m.first < col; });
  const std::span<const Mark> marks(all_marks.begin(), marks_end);

  // Trailing never-written default cells are implied by the cell count.
  size_t used = width;
  const size_t last_marked = marks.empty() ? 0 : size_t{marks.back().first} + 1;
  while (used > last_marked && row.cells[used - 1] == Cell{}) --used;

  const bool default_pens = encode_cells(row, used, marks, text, shapes);
  encode_pens(row, default_pens ? 0 : used, pens);

  wire::Writer mw(meta);
  mw.varint(width);
  mw.u8(static_cast<uint8_t>(row.wrapped * row_wrapped | !shapes.empty() * row_shapes | !pens.empty() * row_pens));
  if (!shapes.empty()) mw.bytes(shapes);
  if (!pens.empty()) mw.bytes(pens);
}

Result<EncodedRow> next_row(std::string_view text, size_t& pos, wire::Reader& meta) {
  EncodedRow row{
      .width = meta.varint_or_zero(max_history_cells), .flags = meta.u8_or_zero(), .shapes = {}, .pens = {}, .text = {}};
  if (row.flags & row_shapes) {
    if (auto b = meta.bytes(meta.remaining())) row.shapes = *b;
  }
  if (row.flags & row_pens) {
    if (auto b = meta.bytes(meta.remaining())) row.pens = *b;
  }
  const size_t nl = text.find('\n', pos);
  if (!meta.ok() || row.flags > 7 || nl == std::string_view::npos) return fail(Errc::malformed);
  row.text = text.substr(pos, nl - pos);
  pos = nl + 1;
  return row;
}

Result<void> decode_row(const EncodedRow& encoded, Row& row) {
  row.cells.assign(encoded.width, Cell{});
  row.marks.clear();
  row.wrapped = encoded.flags & row_wrapped;
  if (auto ok = decode_cells(encoded, row); !ok) return ok;
  return decode_pens(encoded.pens, row);
}

void append_text(const Row& row, std::string& text) {
  Bytes meta, shapes, pens;
  encode_row(row, text, meta, shapes, pens);
}

}  // namespace roam::mux
