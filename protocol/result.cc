#include "protocol/result.h"

namespace roam {

std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::truncated: return "truncated input";
    case Errc::overlong_varint: return "overlong varint";
    case Errc::too_large: return "value too large";
    case Errc::malformed: return "malformed input";
    case Errc::bad_version: return "unsupported version";
    case Errc::auth_failed: return "authentication failed";
    case Errc::wrong_direction: return "wrong direction";
    case Errc::exhausted: return "sequence numbers exhausted";
  }
  return "unknown error";
}

}  // namespace roam
