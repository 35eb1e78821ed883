#pragma once
// The wire's side of the bounded reader (core/bounded_reader.hpp): a cursor
// that also reads refs as the encoders write them. Inline: it is the hot path
// of every node (batch_decoder) and of layout_of.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <msgpack.hpp>

#include "core/bounded_reader.hpp"
#include "wire/envelopes.hpp"

namespace actor::detail::wire {

// A false answer means "not in the shape expected", not "malformed": the
// caller then decodes the element the general way (object_builder).
struct cursor : byte_cursor {
  bool ref(ref_view& r) noexcept {
    const auto* save = p;
    if (fixarray(4) && str(r.node) && str(r.address) && uint(r.incarnation) && uint(r.id)) return true;
    p = save;
    return false;
  }
};

inline msgpack::unpack_limit deeper(const msgpack::unpack_limit& l, std::size_t levels) {
  return msgpack::unpack_limit(l.array(), l.map(), l.str(), l.bin(), l.ext(),
                               l.depth() > levels ? l.depth() - levels : 1);
}

}  // namespace actor::detail::wire
