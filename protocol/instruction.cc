#include "protocol/instruction.h"

#include "protocol/fragment.h"
#include "protocol/wire.h"

namespace roam {

void encode(const Instruction& in, std::vector<uint8_t>& out) {
  wire::Writer w(out);
  w.u8(protocol_version);
  w.varint(in.old_num);
  w.varint(in.new_num);
  w.varint(in.ack_num);
  w.varint(in.throwaway_num);
  w.raw(in.diff);
}

Result<void> decode_instruction(std::span<const uint8_t> bytes, Instruction& in) {
  wire::Reader r(bytes);
  auto version = r.u8();
  if (!version) return fail(version.error());
  if (*version != protocol_version) return fail(Errc::bad_version);
  auto old_num = r.varint();
  auto new_num = r.varint();
  auto ack_num = r.varint();
  auto throwaway = r.varint();
  if (!r.ok()) return fail(Errc::truncated);
  in.old_num = *old_num;
  in.new_num = *new_num;
  in.ack_num = *ack_num;
  in.throwaway_num = *throwaway;
  const auto rest = r.rest();
  in.diff.assign(rest.begin(), rest.end());
  return {};
}

Result<Instruction> decode_instruction(std::span<const uint8_t> bytes) {
  Instruction in;
  if (auto ok = decode_instruction(bytes, in); !ok) return fail(ok.error());
  return in;
}

}  // namespace roam
