// libFuzzer: any bytes as a BATCH frame, through the node's batch decoder (bodies
// checked, then decoded as an actor's thread would) and the Bridge's (bodies built).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/wire.hpp"

namespace wire = actor::detail::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto limits = wire::limits(1u << 20);
  static wire::batch_decoder built(limits);
  static wire::batch_decoder checked(limits, wire::batch_decoder::bodies::checked);
  if (!wire::batch_decoder::is_batch(data, size)) return 0;
  const bool built_ok = built.decode(data, size).has_value();
  const bool checked_ok = checked.decode(data, size).has_value();
  if (built_ok != checked_ok) std::abort();  // the two must agree on what a frame is
  if (!checked_ok) return 0;
  if (built.envelopes().size() != checked.envelopes().size()) std::abort();
  msgpack::zone zone;
  for (const auto& v : checked.envelopes()) {
    // a body left as bytes was checked: decoding it later must succeed
    if (v.body == nullptr) (void)wire::unpack_body(v.body_bytes, zone);
  }
  return 0;
}
