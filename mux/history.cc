#include "mux/history.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "protocol/utf8.h"
#include "protocol/wire.h"

namespace roam::mux {
namespace {

// A block is sealed once its encoded rows reach this size: large enough for
// zstd to exploit the repetition of log-like text, small enough that reading
// one line decompresses little. The line cap bounds how many rows a read
// decodes to reach its first one in blocks of very short rows.
constexpr size_t block_bytes = 64 << 10;
constexpr uint32_t block_lines = 4096;
// Level 1 stores ~3% more than level 3 for less CPU on every sealed block,
// which a flood of output pays for continuously.
constexpr int zstd_level = 1;
// Combining marks carry 16-bit columns, so no row is wider.
constexpr size_t max_cells = 65536;

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
  if (pos >= s.size()) return 0;
  const auto lead = static_cast<uint8_t>(s[pos]);
  size_t n = 0;
  uint32_t c = 0;
  if (lead < 0x80) {
    n = 1, c = lead;
  } else if ((lead & 0xe0) == 0xc0) {
    n = 2, c = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    n = 3, c = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    n = 4, c = lead & 0x07;
  } else {
    return 0;
  }
  if (n > s.size() - pos) return 0;
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<uint8_t>(s[pos + i]);
    if ((b & 0xc0) != 0x80) return 0;
    c = c << 6 | (b & 0x3f);
  }
  static constexpr uint32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < shortest[n] || !printable_scalar(c)) return 0;
  pos += n;
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

using Marks = std::vector<std::pair<uint16_t, std::u32string>>;

// Appends the row's text and a '\n' to `text`, its metadata to `meta`;
// `shapes` and `pens` are scratch.
void encode_row(const Row& row, std::string& text, Bytes& meta, Bytes& shapes, Bytes& pens) {
  const size_t width = std::min(row.cells.size(), max_cells);
  auto by_column = [](const auto& a, const auto& b) { return a.first < b.first; };
  Marks sorted;
  const Marks* marks = &row.marks;
  if (!std::is_sorted(row.marks.begin(), row.marks.end(), by_column)) {
    sorted = row.marks;
    std::stable_sort(sorted.begin(), sorted.end(), by_column);
    marks = &sorted;
  }
  const auto marks_end = std::lower_bound(marks->begin(), marks->end(), width,
                                          [](const auto& m, size_t col) { return m.first < col; });
  const size_t marks_count = static_cast<size_t>(marks_end - marks->begin());

  // Trailing never-written default cells are implied by the cell count.
  size_t used = width;
  const size_t last_marked = marks_count ? size_t{(*marks)[marks_count - 1].first} + 1 : 0;
  while (used > last_marked && row.cells[used - 1] == Cell{}) --used;

  shapes.clear();
  wire::Writer sw(shapes);
  size_t last_col = 0;
  auto shape = [&](size_t col, Shape kind) {
    sw.varint(col - last_col);
    sw.u8(kind);
    last_col = col;
  };
  size_t blanks_start = 0, blanks = 0;
  auto flush_blanks = [&] {
    if (!blanks) return;
    shape(blanks_start, shape_blanks);
    sw.varint(blanks);
    blanks = 0;
  };
  // Room for every cell and mark at 4 bytes, and the '\n'; trimmed below.
  size_t bound = used + 1;
  for (size_t m = 0; m < marks_count; ++m) bound += (*marks)[m].second.size();
  const size_t text_start = text.size();
  text.resize(text_start + 4 * bound);
  char* out = text.data() + text_start;

  bool tail_covered = false;
  size_t next_mark = 0;
  size_t mark_col = marks_count ? (*marks)[0].first : max_cells;
  // Most rows are all plain ASCII in the default pen: their leading plain
  // cells are copied in a tight loop, which also tells whether any pen is set.
  size_t c = 0;
  uint32_t pen_bits = 0;
  for (const size_t plain_end = std::min(used, mark_col); c < plain_end; ++c) {
    const Cell& cell = row.cells[c];
    if (cell.ch - 0x20 >= 0x5f || cell.width != 1) break;
    pen_bits |= cell.fg.packed | cell.bg.packed | cell.attrs | cell.ul.packed;
    *out++ = static_cast<char>(cell.ch);
  }
  const bool default_pens = c == used && pen_bits == 0;
  for (; c < used; ++c) {
    const Cell& cell = row.cells[c];
    if (cell.ch - 0x20 < 0x5f && cell.width == 1 && c != mark_col) {  // plain ASCII
      flush_blanks();
      *out++ = static_cast<char>(cell.ch);
      continue;
    }
    if (cell.ch == 0 && cell.width == 1) {
      if (!blanks) blanks_start = c;
      ++blanks;
      *out++ = ' ';
    } else {
      flush_blanks();
      bool odd_width = cell.width != 1;
      if (cell.ch == Cell::wide_tail) {
        if (!tail_covered) shape(c, shape_tail);
      } else if (!printable_scalar(cell.ch)) {
        shape(c, shape_raw);
        sw.varint(cell.ch);
      } else {
        if (cell.width == 2 && c + 1 < used && row.cells[c + 1].ch == Cell::wide_tail &&
            row.cells[c + 1].width == 1) {
          shape(c, shape_wide);
          odd_width = false;
          tail_covered = true;
        }
        out = put_utf8(out, cell.ch);
      }
      if (cell.ch == Cell::wide_tail) tail_covered = false;
      if (odd_width) {
        shape(c, shape_width);
        sw.varint(cell.width);
      }
    }
    for (; c == mark_col;
         mark_col = ++next_mark < marks_count ? (*marks)[next_mark].first : max_cells) {
      flush_blanks();
      const std::u32string& m = (*marks)[next_mark].second;
      shape(c, shape_marks);
      sw.varint(m.size());
      for (char32_t cp : m) out = put_utf8(out, printable_scalar(cp) ? cp : 0xfffd);
    }
  }
  flush_blanks();
  *out++ = '\n';
  text.resize(static_cast<size_t>(out - text.data()));

  pens.clear();
  wire::Writer pw(pens);
  size_t prev_end = 0;
  for (c = default_pens ? used : 0; c < used;) {
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

  wire::Writer mw(meta);
  mw.varint(width);
  mw.u8(static_cast<uint8_t>(row.wrapped * row_wrapped | !shapes.empty() * row_shapes |
                             !pens.empty() * row_pens));
  if (!shapes.empty()) mw.bytes(shapes);
  if (!pens.empty()) mw.bytes(pens);
}

// After a failure a wire::Reader stays failed and these return 0, so a
// decoder may build with the values and check reader.ok() before trusting it.
uint64_t get(wire::Reader& r, uint64_t max) {
  auto v = r.varint(max);
  return v ? *v : 0;
}

uint8_t get_u8(wire::Reader& r) {
  auto v = r.u8();
  return v ? *v : 0;
}

Color get_color(wire::Reader& r) {
  const uint8_t kind = get_u8(r);
  return {uint32_t{kind} << 24 | static_cast<uint32_t>(get(r, 0xffffff))};
}

// One encoded row, its parts located but not decoded.
struct EncodedRow {
  size_t width;
  uint8_t flags;
  wire::Bytes shapes, pens;
  std::string_view text;
};

// The row whose text starts at text[pos] (advancing pos past its '\n') and
// whose metadata is next in `meta`.
Result<EncodedRow> next_row(std::string_view text, size_t& pos, wire::Reader& meta) {
  EncodedRow row{
      .width = get(meta, max_cells), .flags = get_u8(meta), .shapes = {}, .pens = {}, .text = {}};
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
  const size_t width = encoded.width;
  const std::string_view line = encoded.text;
  row.cells.assign(width, Cell{});
  row.marks.clear();
  row.wrapped = encoded.flags & row_wrapped;

  wire::Reader sr(encoded.shapes);
  size_t col = 0;  // column of the next shape entry
  uint8_t kind = 0;
  bool pending = false;
  auto next_shape = [&] {
    pending = sr.remaining() > 0;
    if (pending) {
      col += get(sr, max_cells);
      kind = get_u8(sr);
    }
  };
  next_shape();
  size_t lpos = 0, blanks = 0;
  bool tail_next = false;
  for (size_t c = 0; c < width; ++c) {
    if (lpos == line.size() && !pending && !blanks && !tail_next) break;
    Cell& cell = row.cells[c];
    enum { from_text, blank, none } source = from_text;
    if (blanks) {
      --blanks;
      source = blank;
    } else if (tail_next) {
      tail_next = false;
      cell.ch = Cell::wide_tail;
      source = none;
    }
    for (; pending && col == c && kind != shape_marks; next_shape()) {
      switch (kind) {
        case shape_blanks:
          blanks = get(sr, max_cells);
          if (blanks == 0) return fail(Errc::malformed);
          --blanks;
          source = blank;
          break;
        case shape_wide:
          cell.width = 2;
          tail_next = true;
          break;
        case shape_tail:
          cell.ch = Cell::wide_tail;
          source = none;
          break;
        case shape_raw:
          cell.ch = static_cast<uint32_t>(get(sr, 0xffffffff));
          source = none;
          break;
        case shape_width:
          cell.width = static_cast<uint8_t>(get(sr, 0xff));
          break;
        default:
          return fail(Errc::malformed);
      }
    }
    if (source == from_text) {
      cell.ch = take_utf8(line, lpos);
      if (!cell.ch) return fail(Errc::malformed);
    } else if (source == blank) {
      if (lpos == line.size() || line[lpos] != ' ') return fail(Errc::malformed);
      ++lpos;
    }
    for (; pending && col == c && kind == shape_marks; next_shape()) {
      const size_t n = get(sr, line.size() - lpos);
      std::u32string marks(n, U'\0');
      for (char32_t& m : marks) {
        m = take_utf8(line, lpos);
        if (!m) return fail(Errc::malformed);
      }
      row.marks.emplace_back(static_cast<uint16_t>(c), std::move(marks));
    }
    if (!sr.ok()) return fail(Errc::malformed);
  }
  if (lpos != line.size() || pending || blanks || tail_next) return fail(Errc::malformed);

  wire::Reader pr(encoded.pens);
  size_t c = 0;
  while (pr.remaining()) {
    const size_t start = c + get(pr, width - c);
    const size_t len = get(pr, width - start);
    const uint8_t parts = get_u8(pr);
    Pen pen;
    if (parts & 1) pen.fg = get_color(pr);
    if (parts & 2) pen.bg = get_color(pr);
    if (parts & 4) pen.attrs = static_cast<uint16_t>(get(pr, 0xffff));
    if (parts & 8) pen.ul = get_color(pr);
    if (!pr.ok() || parts > 15) return fail(Errc::malformed);
    for (c = start; c < start + len; ++c) row.cells[c].set_pen(pen);
  }
  return {};
}

void append_text(const Row& row, std::string& text) {
  Bytes meta, shapes, pens;
  encode_row(row, text, meta, shapes, pens);
}

// Copies `in` to `out` with ASCII letters in lower case and every other byte
// (UTF-8 included) unchanged, eight bytes at a time: a full search folds all
// of history.
void fold(std::string_view in, std::string& out) {
  out.resize(in.size());
  constexpr uint64_t ones = 0x0101010101010101, high = 0x80 * ones;
  size_t i = 0;
  for (; i + 8 <= in.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, in.data() + i, 8);
    // Per byte, with the top bit cleared so no sum carries into the next:
    // bit 7 of ge_a says >= 'A', of gt_z says > 'Z'.
    const uint64_t low7 = x & ~high;
    const uint64_t ge_a = low7 + (0x80 - 'A') * ones;
    const uint64_t gt_z = low7 + (0x7f - 'Z') * ones;
    const uint64_t upper = (ge_a ^ gt_z) & ~x & high;
    x |= upper >> 2;
    std::memcpy(out.data() + i, &x, 8);
  }
  for (; i < in.size(); ++i) {
    const auto u = static_cast<uint8_t>(in[i]);
    out[i] = static_cast<char>(u | (static_cast<uint8_t>(u - 'A') < 26) << 5);
  }
}

// How many '\n' bytes `s` holds, eight bytes at a time: searches for a
// common word count the lines between its hits across all of history.
uint64_t count_newlines(std::string_view s) {
  constexpr uint64_t ones = 0x0101010101010101, low7 = 0x7f * ones;
  uint64_t n = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    x ^= '\n' * ones;  // newlines become zero bytes, then 1s in `zeros`
    const uint64_t zeros = ~(((x & low7) + low7) | x | low7) >> 7;
    n += zeros * ones >> 56;  // the sum of the bytes lands in the top one
  }
  for (; i < s.size(); ++i) n += s[i] == '\n';
  return n;
}

// Finds the lines holding a needle in encoded text: rows, each ended by
// '\n', numbered from the segment's first line.
class Matcher {
 public:
  Matcher(std::string_view needle, const SearchOptions& options)
      : needle_(needle), options_(options) {
    if (!options.case_sensitive) fold(needle, needle_);
  }

  // Appends to `found`, in the search's direction, the matching lines of
  // `text` that lie in [lo, hi). False once `found` is full.
  bool scan(std::string_view text, uint64_t first, uint64_t lo, uint64_t hi,
            std::vector<uint64_t>& found) {
    uint64_t line = std::max(lo, first);
    size_t pos = 0;
    for (uint64_t skip = line - first; skip > 0; --skip) {
      pos = text.find('\n', pos);
      if (pos == std::string_view::npos) return true;
      ++pos;
    }
    std::string_view hay = text.substr(pos);
    if (!options_.case_sensitive) {
      fold(hay, folded_);
      hay = folded_;
    }
    std::vector<uint64_t>& out = options_.backward ? batch_ : found;
    batch_.clear();
    for (pos = 0; line < hi;) {
      const void* hit = memmem(hay.data() + pos, hay.size() - pos, needle_.data(), needle_.size());
      if (!hit) break;
      const size_t at = static_cast<size_t>(static_cast<const char*>(hit) - hay.data());
      line += count_newlines(hay.substr(pos, at - pos));
      if (line >= hi) break;
      out.push_back(line);
      if (!options_.backward && found.size() >= options_.max_results) return false;
      pos = hay.find('\n', at);
      if (pos == std::string_view::npos) break;
      ++pos;
      ++line;
    }
    for (auto it = batch_.rbegin(); it != batch_.rend(); ++it) {
      found.push_back(*it);
      if (found.size() >= options_.max_results) return false;
    }
    return true;
  }

 private:
  std::string needle_;
  const SearchOptions& options_;
  std::string folded_;
  std::vector<uint64_t> batch_;
};

}  // namespace

std::string row_text(const Row& row) {
  std::string text;
  append_text(row, text);
  text.pop_back();
  return text;
}

void History::CCtxFree::operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
void History::DCtxFree::operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }

// Blocks shrink with small limits so that dropping one stays a small step.
History::History(Limits limits)
    : limits_(limits),
      seal_bytes_(static_cast<size_t>(std::clamp<uint64_t>(limits.max_bytes / 4, 1, block_bytes))),
      seal_lines_(
          static_cast<uint32_t>(std::clamp<uint64_t>(limits.max_lines / 4, 1, block_lines))) {}

void History::append(const Row& row) {
  encode_row(row, open_text_, open_meta_, shapes_, pens_);
  ++open_lines_;
  ++end_;
  if (open_text_.size() + open_meta_.size() >= seal_bytes_ || open_lines_ >= seal_lines_) seal();
  enforce_limits();
}

void History::seal() {
  Block block{.first_line = end_ - open_lines_,
              .lines = open_lines_,
              .text_size = static_cast<uint32_t>(open_text_.size()),
              .raw_size = 0,
              .compressed = false,
              .data = {}};
  open_text_.append(open_meta_.begin(), open_meta_.end());
  block.raw_size = static_cast<uint32_t>(open_text_.size());
  size_t size = 0;
  if (!cctx_) {
    cctx_.reset(ZSTD_createCCtx());
    if (cctx_) ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, zstd_level);
  }
  if (cctx_) {
    compressed_.resize(ZSTD_compressBound(open_text_.size()));
    size = ZSTD_compress2(cctx_.get(), compressed_.data(), compressed_.size(), open_text_.data(),
                          open_text_.size());
    block.compressed = !ZSTD_isError(size);
  }
  if (block.compressed) {
    block.data.assign(compressed_.begin(), compressed_.begin() + static_cast<ptrdiff_t>(size));
  } else {
    block.data.assign(open_text_.begin(), open_text_.end());
  }
  sealed_bytes_ += block.data.size();
  blocks_.push_back(std::move(block));
  open_text_.clear();
  open_meta_.clear();
  open_lines_ = 0;
}

void History::enforce_limits() {
  if (end_ - begin_ > limits_.max_lines) begin_ = end_ - limits_.max_lines;
  while (!blocks_.empty()) {
    const Block& oldest = blocks_.front();
    const uint64_t oldest_end = oldest.first_line + oldest.lines;
    if (oldest_end > begin_ && stored_bytes() <= limits_.max_bytes) break;
    begin_ = std::max(begin_, oldest_end);
    sealed_bytes_ -= oldest.data.size();
    blocks_.pop_front();
  }
  // Rows of the open block before begin_ (a zero limit) are never read.
}

size_t History::block_index(uint64_t line) const {
  if (line >= end_ - open_lines_) return blocks_.size();
  const auto after = std::upper_bound(blocks_.begin(), blocks_.end(), line,
                                      [](uint64_t l, const Block& b) { return l < b.first_line; });
  return after == blocks_.begin() ? 0 : static_cast<size_t>(after - blocks_.begin()) - 1;
}

Result<History::Segment> History::segment(size_t index) const {
  if (index == blocks_.size()) {
    return Segment{end_ - open_lines_, open_lines_, open_text_, wire::as_chars(open_meta_)};
  }
  const Block& block = blocks_[index];
  std::string_view raw(block.data.data(), block.data.size());
  if (block.compressed) {
    if (cached_first_line_ != block.first_line) {
      cached_first_line_ = std::numeric_limits<uint64_t>::max();
      if (!dctx_) dctx_.reset(ZSTD_createDCtx());
      if (!dctx_) return fail(Errc::malformed);
      cache_.resize(block.raw_size);
      const size_t n = ZSTD_decompressDCtx(dctx_.get(), cache_.data(), cache_.size(),
                                           block.data.data(), block.data.size());
      if (ZSTD_isError(n) || n != block.raw_size) return fail(Errc::malformed);
      cached_first_line_ = block.first_line;
    }
    raw = cache_;
  }
  if (block.text_size > raw.size()) return fail(Errc::malformed);
  return Segment{block.first_line, block.lines, raw.substr(0, block.text_size),
                 raw.substr(block.text_size)};
}

Result<std::vector<Row>> History::read(uint64_t first, uint64_t count) const {
  std::vector<Row> rows;
  const uint64_t lo = std::max(first, begin_);
  const uint64_t hi = first >= end_ || count >= end_ - first ? end_ : first + count;
  if (lo >= hi) return rows;
  rows.reserve(hi - lo);
  for (size_t index = block_index(lo); rows.size() < hi - lo; ++index) {
    if (index > blocks_.size()) return fail(Errc::malformed);
    auto seg = segment(index);
    if (!seg) return fail(seg.error());
    const uint64_t line = lo + rows.size();
    const uint64_t stop = std::min(hi, seg->first_line + seg->lines);
    size_t pos = 0;
    wire::Reader meta(wire::as_bytes(seg->meta));
    for (uint64_t l = seg->first_line; l < stop; ++l) {
      auto encoded = next_row(seg->text, pos, meta);
      if (!encoded) return fail(encoded.error());
      if (l < line) continue;
      if (auto ok = decode_row(*encoded, rows.emplace_back()); !ok) return fail(ok.error());
    }
  }
  return rows;
}

std::vector<uint64_t> History::search(std::string_view needle, const SearchOptions& options,
                                      std::span<const Row> screen) const {
  std::vector<uint64_t> found;
  if (needle.empty() || needle.find('\n') != std::string_view::npos || options.max_results == 0) {
    return found;
  }
  std::string screen_text;
  for (const Row& row : screen) append_text(row, screen_text);
  const uint64_t screen_end = end_ + screen.size();
  // Lines examined: [lo, hi). The oldest block may hold dropped lines before begin_.
  const uint64_t lo = std::max(options.backward ? 0 : options.from, begin_);
  const uint64_t hi = options.backward && options.from < screen_end ? options.from + 1 : screen_end;
  if (lo >= hi) return found;

  Matcher matcher(needle, options);
  auto scan_block = [&](size_t index) {
    auto seg = segment(index);
    return !seg || matcher.scan(seg->text, seg->first_line, lo, hi, found);
  };
  if (options.backward) {
    if (hi > end_ && !matcher.scan(screen_text, end_, lo, hi, found)) return found;
    if (end_ == begin_) return found;
    for (size_t index = block_index(std::min(hi, end_) - 1) + 1; index-- > 0;) {
      if (!scan_block(index)) break;
    }
  } else {
    if (lo < end_) {
      for (size_t index = block_index(lo); index <= blocks_.size(); ++index) {
        if (!scan_block(index)) return found;
      }
    }
    matcher.scan(screen_text, end_, lo, hi, found);
  }
  return found;
}

}  // namespace roam::mux
