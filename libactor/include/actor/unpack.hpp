#pragma once
/// unpack_bounded: MessagePack from bytes you do not trust (a reply's body, a
/// file), decoded with what it allocates bounded by the bytes' length.

#include <cstddef>
#include <string_view>

#include <msgpack.hpp>

#include "actor/expected.hpp"

namespace actor {

/// How deep unpack_bounded lets containers nest by default (a top-level array is depth 1).
inline constexpr std::size_t default_unpack_depth = 32;

/// Decodes the one MessagePack value `bytes` holds (nothing may follow it) into
/// `zone`. Strings, binaries and extensions point into `bytes`, which must
/// outlive the result, as must `zone`. Unlike msgpack::unpack, no container
/// header may claim more elements than the bytes left could hold, so a short
/// input cannot make it reserve memory: what it allocates grows with
/// bytes.size() only. errc::bad_message for anything else, its text saying why:
/// "MessagePack nested deeper than N levels", "trailing bytes after the
/// MessagePack value", "not valid MessagePack: ...". Thread-safe (no state).
[[nodiscard]] expected<msgpack::object> unpack_bounded(std::string_view bytes, msgpack::zone& zone,
                                                       std::size_t max_depth = default_unpack_depth);

}  // namespace actor
