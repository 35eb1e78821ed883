// libFuzzer: any bytes as a frame, through the general decoder and every frame reader.
#include <cstddef>
#include <cstdint>

#include "wire/wire.hpp"

namespace wire = actor::detail::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto limits = wire::limits(1u << 20);
  auto f = wire::decode_frame(data, size, limits);
  if (!f) return 0;
  switch (f->tag) {
    case wire::frame_tag::hello: (void)wire::read_hello(*f); break;
    case wire::frame_tag::welcome: (void)wire::read_welcome(*f); break;
    case wire::frame_tag::refuse: (void)wire::read_refuse(*f); break;
    case wire::frame_tag::ping:
    case wire::frame_tag::pong: (void)wire::read_probe(*f); break;
    case wire::frame_tag::batch:
      for (std::uint32_t i = 1; i < f->size; ++i) (void)wire::read_envelope(f->items[i]);
      break;
  }
  return 0;
}
