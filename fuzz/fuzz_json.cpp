// libFuzzer: any text as actorctl's JSON input; what it accepts converts back to JSON,
// and the same bytes as a reply body go through msgpack_to_json.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto bytes = actorctl::json_to_msgpack(text)) {
    // what actorctl sends, it can show: JSON it accepted comes back as JSON
    if (!actorctl::msgpack_to_json(*bytes)) std::abort();
  }
  (void)actorctl::msgpack_to_json(text);  // the same bytes as a reply's body
  return 0;
}
