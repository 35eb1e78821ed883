#pragma once
// Envelopes from the network that an actor decodes itself.
//
// The node's I/O thread checks an inbound envelope (its receiver, its type, that
// its body is well-formed MessagePack within the limits) but leaves the body
// encoded, copied into the envelope. The actor's worker thread decodes it when
// it comes to handle the message, so the memory the body's value takes (its
// strings, its containers) is allocated and freed by one thread, not allocated
// by the I/O thread and freed by a worker, which glibc's malloc makes slow for
// both, and the decoding runs on the workers, in parallel, not on the one I/O
// thread. Only small bodies travel this way; others are decoded on arrival.

#include <cstdint>
#include <string_view>

#include "actor/detail/envelope.hpp"

namespace actor::detail {

/// The largest body make_encoded_envelope takes.
[[nodiscard]] std::size_t max_encoded_body() noexcept;

/// An envelope of `type` (kind send, no sender yet) whose body is the
/// MessagePack `body`, copied; null when body is empty or larger than
/// max_encoded_body().
[[nodiscard]] envelope* make_encoded_envelope(const message_type* type, std::string_view body);

/// Decodes the body of e (e->encoded_body() not empty; e is consumed) into an
/// envelope of its type with e's kind, sender, correlation, deadline and
/// inbound account. When the body does not fit the type: counts a decode error
/// in e's inbound account, answers a request with bad_message, and returns null.
[[nodiscard]] envelope* decode_body(envelope* e) noexcept;

}  // namespace actor::detail
