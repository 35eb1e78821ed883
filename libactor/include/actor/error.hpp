#pragma once
/// Errors are values: a stable code that travels on the wire, plus text.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "actor/fields.hpp"

namespace actor {

/// Error codes. The numeric values are part of the wire protocol: never renumber, only append.
enum class errc : std::uint8_t {
  timeout = 1,        ///< the deadline passed before a reply arrived
  no_such_actor = 2,  ///< the target does not exist (or belongs to an earlier incarnation)
  actor_stopped = 3,  ///< the target stopped before it handled the message
  node_down = 4,      ///< the target's node is unreachable
  remote_error = 5,   ///< the target failed while handling the request; text says why
  overloaded = 6,     ///< a bounded queue on the way is full
  shutting_down = 7,  ///< the system is stopping
  bad_message = 8,    ///< malformed, unexpected or undecodable message
  unauthorized = 9,   ///< the peer is not allowed to do this
  name_taken = 10,    ///< a live actor already holds that name
  unknown_type = 11,  ///< no actor or message type is registered under that name
};

/// The stable lower-case name of a code ("timeout", "no_such_actor", ...).
[[nodiscard]] std::string_view to_string(errc code) noexcept;
/// Inverse of to_string; nullopt for an unknown name.
[[nodiscard]] std::optional<errc> errc_from_string(std::string_view name) noexcept;

/// An error value: a code and human-readable text (may be empty).
struct error {
  errc code{errc::bad_message};
  std::string text;

  /// "code: text", or "code" when text is empty.
  [[nodiscard]] std::string describe() const;
  friend bool operator==(const error&, const error&) = default;
  ACTOR_FIELDS(code, text)
};

}  // namespace actor

MSGPACK_ADD_ENUM(actor::errc);
