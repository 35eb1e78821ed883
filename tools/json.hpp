#pragma once
// JSON <-> MessagePack for actorctl: message bodies are typed as JSON on the command
// line and replies are printed as JSON. No JSON library is available, so this is a
// small strict parser (RFC 8259) and a printer.
//
// JSON -> MessagePack: null, true/false, strings (UTF-8, escapes incl. surrogate
// pairs), arrays, objects (string keys, no duplicates); a number without fraction or
// exponent is an integer (it must fit 64 bits), any other number a float64. Nesting
// deeper than max_json_depth, a control character in a string, invalid UTF-8, a
// trailing comma or anything after the value is an error naming line and column.
//
// MessagePack -> JSON: integers and floats as numbers (a float keeps a ".0" so it
// reads back as a float; NaN and infinities print as null), strings escaped (invalid
// UTF-8 becomes U+FFFD), bin as a base64 string, ext as {"ext_type": n, "data": base64},
// map keys that are not strings as their JSON text.

#include <cstddef>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "actor/expected.hpp"

namespace actorctl {

/// How deep a JSON value may nest (an object or array is one level): a node accepts
/// frames nested up to 32 levels, and the frame and its envelope take two of them.
inline constexpr std::size_t max_json_depth = 30;

/// The MessagePack bytes of one JSON value; errc::bad_message with "line L, column C: why".
[[nodiscard]] actor::expected<std::string> json_to_msgpack(std::string_view json);

/// A decoded MessagePack object as compact JSON (one line).
[[nodiscard]] std::string to_json(const msgpack::object& o);

/// MessagePack bytes as compact JSON; errc::bad_message when they are not one valid value.
[[nodiscard]] actor::expected<std::string> msgpack_to_json(std::string_view bytes);

/// `s` as a JSON string literal, quotes included.
[[nodiscard]] std::string json_quote(std::string_view s);

}  // namespace actorctl
