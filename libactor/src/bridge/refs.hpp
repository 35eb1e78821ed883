#pragma once
// How refs look on a Bridge's side: an actor_ref received through a bridge is a
// bridge_endpoint, which only carries its wire address (it cannot be sent to
// through an actor system, only used as a bridge target), and the bridge's
// ref_codec turns refs into wire refs and back while messages are encoded.

#include "actor/actor_ref.hpp"
#include "actor/detail/ref_codec.hpp"

namespace actor::detail {

/// The codec installed while a bridge encodes or decodes a message: refs with a
/// wire address (from a bridge, or a node's proxies) travel; local refs cannot.
/// Stateless and thread-safe.
[[nodiscard]] ref_codec& bridge_codec() noexcept;

/// A ref to the actor at `w`, for bridge targets.
[[nodiscard]] actor_ref make_bridge_ref(const wire_ref& w);

}  // namespace actor::detail
