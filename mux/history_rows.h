// How History stores a row: its text (one UTF-8 character per cell, marks
// after theirs, '\n' at the end), which search scans as it is, and metadata
// for what text alone cannot say (shapes, pen runs, the wrap flag).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/cell.h"
#include "protocol/result.h"
#include "protocol/wire.h"

namespace roam::mux {

// Combining marks carry 16-bit columns, so no stored row is wider.
inline constexpr size_t max_history_cells = 65536;

using Mark = std::pair<uint16_t, std::u32string>;

// Appends the row's text and a '\n' to `text`, its metadata to `meta`;
// `shapes` and `pens` are scratch.
void encode_row(const Row& row, std::string& text, std::vector<uint8_t>& meta, std::vector<uint8_t>& shapes,
                std::vector<uint8_t>& pens);

// Appends only the row's text and its '\n'.
void append_text(const Row& row, std::string& text);

// One encoded row, its parts located but not decoded.
struct EncodedRow {
  size_t width;
  uint8_t flags;
  wire::Bytes shapes, pens;
  std::string_view text;
};

// The row whose text starts at text[pos] (advancing pos past its '\n') and
// whose metadata is next in `meta`.
Result<EncodedRow> next_row(std::string_view text, size_t& pos, wire::Reader& meta);

Result<void> decode_row(const EncodedRow& encoded, Row& row);

}  // namespace roam::mux
