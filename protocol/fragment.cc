#include "protocol/fragment.h"

#include <algorithm>

#include "protocol/wire.h"

namespace roam {

namespace {
constexpr uint16_t final_bit = 0x8000;
}

void encode_fragment(const Fragment& f, std::vector<uint8_t>& out) {
  wire::Writer w(out);
  w.u64(f.instruction_id);
  w.u16(static_cast<uint16_t>(f.index | (f.final ? final_bit : 0)));
  w.raw(f.payload);
}

Result<Fragment> decode_fragment(std::span<const uint8_t> bytes) {
  wire::Reader r(bytes);
  auto id = r.u64();
  auto index = r.u16();
  if (!r.ok()) return fail(Errc::truncated);
  Fragment f;
  f.instruction_id = *id;
  f.index = *index & ~final_bit;
  f.final = (*index & final_bit) != 0;
  if (f.index >= max_fragments) return fail(Errc::too_large);
  f.payload = r.rest();
  return f;
}

Result<void> Fragmenter::split(std::span<const uint8_t> instruction, size_t max_size, std::vector<Fragment>& out) {
  if (max_size <= fragment_header_size) return fail(Errc::too_large);
  if (instruction.size() > max_instruction_size) return fail(Errc::too_large);
  const size_t chunk = max_size - fragment_header_size;
  const size_t count = std::max<size_t>(1, (instruction.size() + chunk - 1) / chunk);
  if (count > max_fragments) return fail(Errc::too_large);
  const uint64_t id = next_id_++;
  out.clear();
  for (size_t i = 0; i < count; ++i) {
    const size_t off = i * chunk;
    const size_t len = std::min(chunk, instruction.size() - off);
    out.push_back({id, static_cast<uint16_t>(i), i + 1 == count, instruction.subspan(off, len)});
  }
  return {};
}

Reassembler::Partial& Reassembler::slot_for(uint64_t id) {
  for (auto& p : partials_)
    if (p.used && p.id == id) return p;
  auto slot = std::find_if(partials_.begin(), partials_.end(), [](const Partial& p) { return !p.used; });
  if (slot == partials_.end()) {
    // Make room by forgetting the oldest partial instruction.
    slot = std::min_element(partials_.begin(), partials_.end(),
                            [](const Partial& a, const Partial& b) { return a.id < b.id; });
  }
  Partial& p = *slot;
  p.used = true;
  p.id = id;
  p.have.clear();  // parts keep their buffers; have says which hold data
  p.received = 0;
  p.bytes = 0;
  p.final_index = -1;
  return p;
}

Result<bool> Reassembler::add(std::span<const uint8_t> encoded) {
  auto f = decode_fragment(encoded);
  if (!f) return fail(f.error());
  if (any_completed_ && f->instruction_id <= newest_completed_) {
    ++(f->instruction_id == newest_completed_ ? duplicates_dropped_ : stale_dropped_);
    return false;
  }
  if (std::all_of(partials_.begin(), partials_.end(),
                  [&](const Partial& p) { return p.used && p.id > f->instruction_id; })) {
    ++stale_dropped_;
    return false;
  }
  Partial& p = slot_for(f->instruction_id);
  if (p.final_index >= 0 && (f->index > p.final_index || (f->final && f->index != p.final_index)))
    return fail(Errc::malformed);
  if (f->final) {
    if (f->index + 1u < p.have.size() && std::find(p.have.begin() + f->index + 1, p.have.end(), true) != p.have.end())
      return fail(Errc::malformed);
    p.final_index = f->index;
  }
  if (f->index >= p.have.size()) {
    p.have.resize(f->index + 1u, false);
    if (p.parts.size() < p.have.size()) p.parts.resize(p.have.size());
  }
  if (p.have[f->index]) {
    ++duplicates_dropped_;
    return false;
  }
  if (p.bytes + f->payload.size() > max_instruction_size) return fail(Errc::too_large);
  p.have[f->index] = true;
  p.parts[f->index].assign(f->payload.begin(), f->payload.end());
  p.bytes += f->payload.size();
  ++p.received;
  if (p.final_index < 0 || p.received != static_cast<size_t>(p.final_index) + 1) return false;

  completed_.clear();
  for (size_t i = 0; i < p.have.size(); ++i) completed_.insert(completed_.end(), p.parts[i].begin(), p.parts[i].end());
  newest_completed_ = p.id;
  any_completed_ = true;
  for (Partial& q : partials_)
    if (q.id <= newest_completed_) q.used = false;
  return true;
}

}  // namespace roam
