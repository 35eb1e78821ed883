#pragma once
// JSON <-> MessagePack for actorctl: message bodies are typed as JSON on the command
// line and replies are printed as JSON. nlohmann-json parses and prints; the rules
// below are this file's, some stricter than nlohmann's.
//
// JSON -> MessagePack: strict RFC 8259 (no comments, no byte order mark, nothing after
// the value, a NUL byte is an error). null, true/false, strings (UTF-8, escapes incl.
// surrogate pairs; invalid UTF-8, lone surrogates and unescaped control characters
// are errors), arrays, objects (no duplicate keys). A number without fraction or
// exponent is an integer and must fit 64 bits (int64 when negative, up to uint64
// otherwise), any other number a float64 (out of its range, 1e400 or 1e-400, is an
// error). Objects and arrays nested deeper than max_json_depth are an error. Every
// error is errc::bad_message, "malformed JSON at line L, column C: why". The bytes are
// msgpack-cxx's: the smallest integer encodings, str for strings, float64 for floats.
//
// MessagePack -> JSON: integers and floats as numbers (a float keeps a ".0" so it
// reads back as a float; NaN and infinities print as null), strings escaped (invalid
// UTF-8 becomes U+FFFD), bin as a base64 string, ext as {"ext_type": n, "data": base64},
// map keys that are not strings as their JSON text. Nesting deeper than max_json_depth
// is refused too: no body a node delivers is deeper.

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

/// A decoded MessagePack object as compact JSON (one line); throws std::length_error
/// when it nests deeper than max_json_depth (msgpack_to_json refuses such bytes), or when
/// maps are keys of maps (printed as quoted JSON text) more than 4 levels into each other.
[[nodiscard]] std::string to_json(const msgpack::object& o);

/// MessagePack bytes as compact JSON; errc::bad_message when they are not one valid
/// value, nest deeper than max_json_depth, or nest maps as keys too deep to show (to_json).
[[nodiscard]] actor::expected<std::string> msgpack_to_json(std::string_view bytes);

/// `s` as a JSON string literal, quotes included.
[[nodiscard]] std::string json_quote(std::string_view s);

}  // namespace actorctl
