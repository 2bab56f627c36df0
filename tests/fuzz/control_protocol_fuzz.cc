// The control socket's protocol, as the daemon and the commands read it: the
// input is a byte stream cut into frames by next_frame (each body decoded as
// a request and as a response), and also one body as it is. Whatever decodes
// re-encodes to a frame that decodes and re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "server/control_protocol.h"

using namespace roam;
using namespace roam::server;

namespace {

template <class Message, class Decode>
void check_round_trip(const Message& m, Decode decode, size_t max) {
  std::vector<uint8_t> frame;
  encode(m, frame);
  auto view = next_frame(frame, max);
  if (!view || !*view || (*view)->consumed != frame.size()) __builtin_trap();
  auto again = decode((*view)->body);
  if (!again) __builtin_trap();
  std::vector<uint8_t> frame2;
  encode(*again, frame2);
  if (frame2 != frame) __builtin_trap();
}

void decode_body(std::span<const uint8_t> body) {
  (void)body_version(body);
  if (auto request = decode_request(body)) check_round_trip(*request, decode_request, max_request_size);
  if (auto response = decode_response(body)) check_round_trip(*response, decode_response, max_response_size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  decode_body(input);

  // As the daemon reads a connection: frames until one is incomplete or too large.
  for (std::span<const uint8_t> stream = input; !stream.empty();) {
    auto frame = next_frame(stream, max_response_size);
    if (!frame || !*frame) break;
    if ((*frame)->consumed == 0 || (*frame)->consumed > stream.size()) __builtin_trap();
    decode_body((*frame)->body);
    stream = stream.subspan((*frame)->consumed);
  }
  return 0;
}
