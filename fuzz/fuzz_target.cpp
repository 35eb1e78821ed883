// libFuzzer: any text as a target (NAME, NAME@ADDRESS, NODE@ADDRESS#INCARNATION/ID).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "actor/bridge.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = actor::parse_target(text)) (void)t->describe();
  (void)actor::target(std::string(text)).describe();  // the string constructor reads the same grammar
  return 0;
}
