// Standard base64 (RFC 4648 alphabet) without padding, for keys in text form.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cstdint>

namespace roam {

std::string base64_encode(std::span<const uint8_t> data);

// Decodes unpadded base64 into `out`, which must be exactly the decoded size.
// Refuses padding, whitespace, wrong lengths and non-zero leftover bits, so
// every value has exactly one accepted text form.
bool base64_decode(std::string_view text, std::span<uint8_t> out);

}  // namespace roam
